namespace ControlPlane.Dataplane.Tests.Discovery;

/// <summary>
/// A control-plane address the node could not use stops it at start with one line naming the
/// setting: before, <c>localhost:9950</c> (read as scheme "localhost") never connected and never
/// logged, <c>127.0.0.1:9950</c> crashed with an unhandled UriFormatException, and a password in the
/// URL was ignored yet shown in logs and metric labels.
/// </summary>
public sealed class ControlPlaneAddressTests
{
    [Theory]
    [InlineData("localhost:9950", "not an absolute http:// or https:// address")]
    [InlineData("127.0.0.1:9950", "not an absolute http:// or https:// address")]
    [InlineData("cp-1", "not an absolute http:// or https:// address")]
    [InlineData("ftp://cp-1:8001", "not an absolute http:// or https:// address")]
    [InlineData("/var/run/cp.sock", "not an absolute http:// or https:// address")]
    [InlineData("http://cp-1:8001/controlplane", "a path, query or fragment would be ignored")]
    [InlineData("http://cp-1:8001/?zone=a", "a path, query or fragment would be ignored")]
    [InlineData("http://cp-1:8001#a", "a path, query or fragment would be ignored")]
    public void AnAddressTheNodeCouldNotUse_StopsItAtStart(string address, string problem)
    {
        var ex = Assert.Throws<InvalidOperationException>(() => DataplaneHost.Build(["--Dataplane:ControlPlanes:0=http://cp-0:8001", $"--Dataplane:ControlPlanes:1={address}"]));

        Assert.StartsWith("Invalid Dataplane:ControlPlanes:1: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
        Assert.Contains(address, ex.Message, StringComparison.Ordinal); // which value, when it holds no secret
    }

    [Theory]
    [InlineData("http://admin:s3cret@cp-1:8001")]
    [InlineData("https://:s3cret@cp-1:8001")]
    [InlineData("admin:s3cret@cp-1:8001")]
    public void CredentialsInTheAddress_AreRefused_WithoutBeingEchoed(string address)
    {
        var ex = Assert.Throws<InvalidOperationException>(() => DataplaneHost.Build([$"--Dataplane:ControlPlanes:0={address}"]));

        Assert.StartsWith("Invalid Dataplane:ControlPlanes:0: ", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://cp-1:8001")]
    [InlineData("https://cp-1.example.com:8001/")]
    [InlineData("http://127.0.0.1:8001")]
    [InlineData("http://[::1]:8001")]
    public async Task UsableAddresses_AreAccepted(string address)
    {
        await using var app = DataplaneHost.Build([$"--Dataplane:ControlPlanes:0={address}", "--Dataplane:HttpPort=0"]);
        Assert.NotNull(app);
    }
}
