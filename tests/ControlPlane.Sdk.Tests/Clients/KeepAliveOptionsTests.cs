using ControlPlane.Sdk.Registration;

namespace ControlPlane.Sdk.Tests.Clients;

/// <summary>Settings that would leave a hung control plane unnoticed, or drop healthy connections, are refused when the client is made.</summary>
public sealed class KeepAliveOptionsTests
{
    [Theory]
    [InlineData(500, 5000, "KeepAliveInterval")]
    [InlineData(10000, 0, "KeepAliveTimeout")]
    public void AKeepAliveTheClientCannotHonour_IsRefused(int intervalMs, int timeoutMs, string named)
    {
        var options = new ControlPlaneClientOptions { KeepAliveInterval = TimeSpan.FromMilliseconds(intervalMs), KeepAliveTimeout = TimeSpan.FromMilliseconds(timeoutMs) };
        options.Addresses.Add(new Uri("http://127.0.0.1:1"));
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => ControlPlaneClient.Create(options));
        Assert.Contains(named, ex.ParamName, StringComparison.Ordinal);
    }

    [Fact]
    public void NoKeepAlive_IsAllowed()
    {
        var options = new ControlPlaneClientOptions { KeepAliveInterval = Timeout.InfiniteTimeSpan };
        options.Addresses.Add(new Uri("http://127.0.0.1:1"));
        using var client = ControlPlaneClient.Create(options);
        Assert.NotNull(client.Registry);
    }

    [Fact]
    public void AHeartbeatAnswerTimeoutThatIsNotPositive_IsRefused()
    {
        var options = new ControlPlaneClientOptions();
        options.Addresses.Add(new Uri("http://127.0.0.1:1"));
        using var client = ControlPlaneClient.Create(options);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new InstanceRegistrar(client.Registry, new InstanceRegistrarOptions { AnswerTimeout = TimeSpan.Zero }));
        Assert.Contains("AnswerTimeout", ex.Message, StringComparison.Ordinal);
    }
}
