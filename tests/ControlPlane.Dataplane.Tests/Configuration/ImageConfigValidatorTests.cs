using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Configuration;
using ControlPlane.Dataplane.Discovery;
using ControlPlane.LoadBalancing;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Dataplane.Tests.Configuration;

/// <summary>
/// The node accepts exactly the image names and hosts the control plane accepts at registration
/// (one shared rule): anything else is NACKed naming the field, and the node keeps what it had.
/// Before, hosts inside any number of brackets and image names no registration can have (then
/// every request to them was a 400) were ACKed.
/// </summary>
public sealed class ImageConfigValidatorTests
{
    private readonly InMemoryProxyConfigProvider _provider = new();
    private readonly DiscoveryState _state;

    public ImageConfigValidatorTests() => _state = new DiscoveryState(_provider, LoadBalancingPolicies.Default);

    [Theory]
    [InlineData("[[127.0.0.1]]")]
    [InlineData("]127.0.0.1[")]
    [InlineData("[127.0.0.1]")]
    [InlineData("[[::1]]")]
    [InlineData("1.2.3")]
    [InlineData("10.0.0.256")]
    public void AHostNoRegistrationCanHave_IsNacked(string host)
    {
        var error = _state.Apply(DiscoveryState.EndpointSetType, [Endpoints("img", host)], []);

        Assert.NotNull(error);
        Assert.Contains($"endpoint_set.endpoints[0].host: '{host}' is not a host name or IP address", error.Message, StringComparison.Ordinal);
        Assert.False(_provider.Current.IsLoaded);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    [InlineData("[::1]")]
    [InlineData("svc-1.eu-central.internal")]
    public void HostsARegistrationCanHave_AreAccepted(string host)
    {
        Assert.Null(_state.Apply(DiscoveryState.EndpointSetType, [Endpoints("img", host)], []));
    }

    [Theory]
    [InlineData("ünï")]
    [InlineData("sp ace")]
    [InlineData("-img")]
    [InlineData("img.")]
    [InlineData("a%2Fb")]
    public void AnImageNameNoRegistrationCanHave_IsNacked(string image)
    {
        var error = _state.Apply(DiscoveryState.EndpointSetType, [Endpoints(image, "127.0.0.1")], []);

        Assert.NotNull(error);
        Assert.Contains($"image: '{image}' is not valid: expected an image name such as 'img.video.svc'", error.Message, StringComparison.Ordinal);
        Assert.False(_provider.Current.IsLoaded);
    }

    [Fact]
    public void ImageNamesOfTheRegistry_AreAccepted()
    {
        Assert.Null(_state.Apply(DiscoveryState.EndpointSetType, [Endpoints("img.video.svc", "127.0.0.1"), Endpoints("registry_1:v2-a", "127.0.0.1"), Endpoints(new string('a', 253), "127.0.0.1")], []));
        Assert.Equal(3, _provider.Current.Images.Count);
    }

    private static Resource Endpoints(string image, string host)
    {
        var set = new EndpointSet { Image = image };
        set.Endpoints.Add(DataplaneFixture.EndpointOf("i1", 8080, host: host));
        return new Resource { Name = image, Version = "v1", Resource_ = Any.Pack(set) };
    }
}
