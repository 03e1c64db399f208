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
    public async Task ADataplaneControlPlaneAddressWithoutAScheme_IsRefused_InOneLine()
    {
        var directory = Directory.CreateTempSubdirectory("sys-bad-address-").FullName;
        try
        {
            var error = await Assert.ThrowsAsync<ChildProcessException>(() => DataplaneNode.StartAsync("bad-address", "127.0.0.1:9950", directory)).DefaultTimeout();

            Assert.Contains("exited with code 1 before it was ready", error.Message, StringComparison.Ordinal);
            Assert.Contains("ControlPlane.Dataplane: cannot start: Invalid Dataplane:ControlPlanes:0: '127.0.0.1:9950' is not an absolute http:// or https:// address", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("Unhandled exception", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
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
