using ControlPlane.Agents.Tests.Infrastructure;

namespace ControlPlane.Agents.Tests.Sd;

[Collection(PlatformCollection.Name)]
public sealed class SdAgentTests(AgentPlatform platform)
{
    private object Instance(string id, string image, BackendProcess backend, int ttl = 600) =>
        new { name = image + "-svc", image, instance_id = id, host = "127.0.0.1", port = backend.Port, region = "local", metadata = new { weight = 1 }, ttl_seconds = ttl };

    [Fact]
    public async Task Register_KeepsTheInstancesAlivePastTheirLease_ThenDeregisterNeedsApproval()
    {
        await using var session = platform.Session();
        var register = await session.RunAsync("sd", "register", new { instances = new[] { Instance("sd-b1", "img.sd", platform.Backends[0], ttl: 2), Instance("sd-b2", "img.sd", platform.Backends[1], ttl: 2) } });
        Assert.True(register.Ok, register.ToJson());
        Assert.Equal(2, (int)register.Result!["registered"]!);
        Assert.Equal(1.0, (double)register.Result["heartbeat_interval_s"]!);
        var firstLeaseEnds = DateTimeOffset.Parse((string)register.Result["expires_at"]!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(2, session.Runtime.HeartbeatingInstances);

        // A 2 s lease outlives itself only through the heartbeats (every 1 s).
        await Eventually.WaitAsync("sd-b1 healthy 2 s after its first lease ended", async () =>
            DateTimeOffset.UtcNow > firstLeaseEnds + TimeSpan.FromSeconds(2) && (await platform.InstanceAsync("sd-b1"))?.GetProperty("status").GetString() == "healthy");
        await platform.WaitRoutedAsync("img.sd", ["b1", "b2"]);

        var refused = await session.RunAsync("sd", "deregister", new { instance_ids = new[] { "sd-b1", "sd-b2" } });
        Assert.Equal(AgentErrorCodes.ApprovalRequired, refused.Error!.Code);
        Assert.Equal("healthy", (await platform.InstanceAsync("sd-b1"))!.Value.GetProperty("status").GetString());

        var removed = await session.RunAsync("sd", "deregister", new { instance_ids = new[] { "sd-b1", "sd-b2" } }, approve: true);
        Assert.True(removed.Ok, removed.ToJson());
        Assert.Null(await platform.InstanceAsync("sd-b1"));
        Assert.Null(await platform.InstanceAsync("sd-b2"));
        Assert.Equal(0, session.Runtime.HeartbeatingInstances);
    }

    [Fact]
    public async Task ADuplicateId_UnderAnotherNameOrImage_IsRefused_AndNothingIsRegistered()
    {
        await platform.ControlPlane.RegisterAsync("img.sd-one", "sd-dup", platform.Backends[2]);
        try
        {
            await using var session = platform.Session();
            var refused = await session.RunAsync("sd", "register", new { instances = new[] { Instance("sd-new", "img.sd-two", platform.Backends[0]), Instance("sd-dup", "img.sd-two", platform.Backends[2]) } });
            Assert.Equal(AgentErrorCodes.DuplicateInstance, refused.Error!.Code);
            Assert.Contains("sd-dup is registered as img.sd-one-svc/img.sd-one", refused.Error.Detail, StringComparison.Ordinal);
            Assert.Null(await platform.InstanceAsync("sd-new"));

            var twice = await session.RunAsync("sd", "register", new { instances = new[] { Instance("sd-x", "img.a", platform.Backends[0]), Instance("sd-x", "img.b", platform.Backends[1]) } });
            Assert.Equal(AgentErrorCodes.DuplicateInstance, twice.Error!.Code);
            Assert.Contains("in the input", twice.Error.Detail, StringComparison.Ordinal);
            Assert.Null(await platform.InstanceAsync("sd-x"));

            // The same name and image is a renewal, not a duplicate.
            var same = await session.RunAsync("sd", "register", new { instances = new[] { Instance("sd-dup", "img.sd-one", platform.Backends[2]) }, heartbeat = false });
            Assert.True(same.Ok, same.ToJson());
            Assert.False((bool)same.Result!["heartbeating"]!);
        }
        finally
        {
            await platform.ControlPlane.DeregisterAsync("sd-dup");
        }
    }

    [Fact]
    public async Task AControlPlaneThatIsNotReady_RegistersNothing()
    {
        var registers = await platform.GrpcCallsAsync("Register");
        await using var session = platform.Session(platform.Options with { LbBase = new Uri("http://127.0.0.1:1") });
        var refused = await session.RunAsync("sd", "register", new { instances = new[] { Instance("sd-nr", "img.nr", platform.Backends[0]) } });
        Assert.Equal(AgentErrorCodes.NotReady, refused.Error!.Code);
        Assert.Contains("/readyz", refused.Error.Detail, StringComparison.Ordinal);
        Assert.Equal(registers, await platform.GrpcCallsAsync("Register"));
        Assert.Null(await platform.InstanceAsync("sd-nr"));
    }
}
