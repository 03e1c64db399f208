using ControlPlane.TestCommon;
using ControlPlane.TestCommon.Processes;

namespace ControlPlane.System.Tests.Ops;

/// <summary>A process that cannot start says why in one line and exits with code 1, not with a stack trace and an abort.</summary>
public sealed class StartupErrorTests
{
    [Fact]
    public async Task ADataplaneTokenEqualToThePlatformToken_IsRefused_InOneLine()
    {
        var error = await Assert.ThrowsAsync<ChildProcessException>(() => ControlPlaneProcess.StartAsync(
            new Dictionary<string, string> { ["DATAPLANE_TOKEN"] = ControlPlaneProcess.AdminToken })).DefaultTimeout();

        Assert.Contains("exited with code 1 before it was ready", error.Message, StringComparison.Ordinal);
        Assert.Contains("ControlPlane.Server: cannot start: The dataplane token (DATAPLANE_TOKEN) equals the platform token", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(ControlPlaneProcess.AdminToken, error.Message, StringComparison.Ordinal); // the token itself is never printed
    }

    [Fact]
    public async Task AnUnknownStoreKind_IsRefused_InOneLine()
    {
        var error = await Assert.ThrowsAsync<ChildProcessException>(() => ControlPlaneProcess.StartAsync(
            new Dictionary<string, string> { ["ControlPlane__Store__Kind"] = "mongodb" })).DefaultTimeout();

        Assert.Contains("exited with code 1 before it was ready", error.Message, StringComparison.Ordinal);
        Assert.Contains("ControlPlane.Server: cannot start: ControlPlane:Store:Kind is 'mongodb'; expected 'memory' or 'redis'.", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error.Message, StringComparison.Ordinal);
    }
}
