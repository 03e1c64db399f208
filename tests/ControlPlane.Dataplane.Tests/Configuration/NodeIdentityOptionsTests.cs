namespace ControlPlane.Dataplane.Tests.Configuration;

/// <summary>
/// A node identity the control plane would refuse (its fleet view, logs and URL paths take printable
/// ASCII only) stops the node at start with a clear message, instead of showing only as refused streams.
/// </summary>
public sealed class NodeIdentityOptionsTests
{
    [Theory]
    [InlineData("--Dataplane:NodeId=edge 1", "Dataplane:NodeId")]
    [InlineData("--Dataplane:NodeId=édge-1", "Dataplane:NodeId")]
    [InlineData("--Dataplane:Zone=eu\tcentral", "Dataplane:Zone")]
    [InlineData("--Dataplane:Region=eu\ncentral", "Dataplane:Region")]
    public void AnIdentityTheControlPlaneWouldRefuse_StopsTheNodeAtStart(string setting, string named)
    {
        var ex = Assert.Throws<InvalidOperationException>(() => DataplaneHost.Build(["--Dataplane:ControlPlanes:0=http://127.0.0.1:1", setting]));
        Assert.Contains(named, ex.Message, StringComparison.Ordinal);
        Assert.Contains("printable ASCII", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--Dataplane:NodeId=sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local")]
    [InlineData("--Dataplane:Zone=eu-central-1a")]
    public async Task EnvoyAndIstioStyleIdentities_AreAccepted(string setting)
    {
        await using var app = DataplaneHost.Build(["--Dataplane:ControlPlanes:0=http://127.0.0.1:1", "--Dataplane:HttpPort=0", setting]);
        Assert.NotNull(app);
    }
}
