namespace ControlPlane.Dataplane.Tests.Configuration;

/// <summary>
/// A keepalive the HTTP/2 client cannot honour (a PING interval under its 1 s floor, a timeout that
/// is not positive) stops the node at start with the setting named, instead of a node that never
/// notices a hung control plane or drops healthy connections.
/// </summary>
public sealed class KeepAliveOptionsTests
{
    [Theory]
    [InlineData("--Dataplane:ControlPlaneKeepAliveInterval=00:00:00.500", "Dataplane:ControlPlaneKeepAliveInterval: must be at least 1 s")]
    [InlineData("--Dataplane:ControlPlaneKeepAliveTimeout=00:00:00", "Dataplane:ControlPlaneKeepAliveTimeout: must be positive")]
    [InlineData("--Dataplane:ControlPlaneKeepAliveTimeout=-00:00:01", "Dataplane:ControlPlaneKeepAliveTimeout: must be positive")]
    public void AKeepAliveTheClientCannotHonour_StopsTheNodeAtStart(string setting, string message)
    {
        var ex = Assert.Throws<InvalidOperationException>(() => DataplaneHost.Build(["--Dataplane:ControlPlanes:0=http://127.0.0.1:1", setting]));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }
}
