using ControlPlane.Server.Policies;
using ControlPlane.Server.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Server.Tests.Storage;

/// <summary><c>ControlPlane:Store:Kind</c> picks the stores; a bad setting stops the start, clearly.</summary>
public sealed class StoreSelectionTests
{
    private static IServiceCollection Services(params (string Key, string Value)[] settings) =>
        new ServiceCollection().AddStores(new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value))).Build());

    [Fact]
    public void ByDefault_TheEmbeddedStoresAreLeftToTheRegistryAndPolicies()
    {
        Assert.Empty(Services());
        Assert.Empty(Services(("ControlPlane:Store:Kind", "memory")));
    }

    [Fact]
    public void Redis_RegistersBothStores_OnOneConnection()
    {
        var services = Services(("ControlPlane:Store:Kind", "Redis"), ("ControlPlane:Store:Redis:Url", "redis://127.0.0.1:1/0"));
        Assert.Contains(services, d => d.ServiceType == typeof(IRegistryStore));
        Assert.Contains(services, d => d.ServiceType == typeof(IPolicyStore));
        Assert.Contains(services, d => d.ServiceType == typeof(Server.Storage.Redis.RedisConnection));
    }

    [Fact]
    public void AnUnknownKind_StopsTheStart_NamingTheChoices()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Services(("ControlPlane:Store:Kind", "etcd")));
        Assert.Contains("'memory' or 'redis'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void APasswordInTheRedisUrl_StopsTheStart_WithoutEchoingIt()
    {
        var error = Assert.Throws<FormatException>(() => Services(("ControlPlane:Store:Kind", "redis"), ("ControlPlane:Store:Redis:Url", "redis://:hunter2@redis:6379/0")));
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("inst:")]
    [InlineData("policy:x:")]
    [InlineData("lb:")]
    [InlineData("instances-a:")]
    public void AKeyPrefixThatBeginsLikeAnUnprefixedKey_StopsTheStart(string prefix)
    {
        // A deployment without a prefix on the same database could write into this one's keys.
        var error = Assert.Throws<InvalidOperationException>(() => Services(("ControlPlane:Store:Kind", "redis"), ("ControlPlane:Store:Redis:KeyPrefix", prefix)));
        Assert.Contains("KeyPrefix", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("cp1:")]
    [InlineData("ns{1}*?[x] \u00fc:")]
    [InlineData("i")]
    public void OtherKeyPrefixes_AreAccepted(string prefix)
    {
        Services(("ControlPlane:Store:Kind", "redis"), ("ControlPlane:Store:Redis:KeyPrefix", prefix));
    }
}
