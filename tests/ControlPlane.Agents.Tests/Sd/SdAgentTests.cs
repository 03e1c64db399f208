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

    [Fact]
    public async Task Deregister_AttemptsEveryId_AndReportsEachOutcome()
    {
        await using var session = platform.Session();
        var registered = await session.RunAsync("sd", "register", new { instances = new[] { Instance("sd-d1", "img.multi", platform.Backends[0]), Instance("sd-d2", "img.multi", platform.Backends[1]) }, heartbeat = false });
        Assert.True(registered.Ok, registered.ToJson());

        var renewals = await session.RunAsync("sd", "heartbeat", new { instance_ids = new[] { "sd-nosuch", "sd-d1" }, ttl_seconds = 300 });
        Assert.Equal(AgentErrorCodes.NotFound, renewals.Error!.Code);
        Assert.Equal(300, (await platform.InstanceAsync("sd-d1"))!.Value.GetProperty("ttl_seconds").GetInt32());
        Assert.Equal([false, true], renewals.Result!["instances"]!.AsArray().Select(r => (bool)r!["renewed"]!));

        var removed = await session.RunAsync("sd", "deregister", new { instance_ids = new[] { "sd-d1", "sd-nosuch", "sd-d2" } }, approve: true);
        Assert.Equal(AgentErrorCodes.NotFound, removed.Error!.Code);
        Assert.Contains("2 of 3 deregistered", removed.Error.Detail, StringComparison.Ordinal);
        Assert.Null(await platform.InstanceAsync("sd-d1"));
        Assert.Null(await platform.InstanceAsync("sd-d2"));
        Assert.Equal((2, 1), ((int)removed.Result!["deregistered"]!, (int)removed.Result["failed"]!));
        Assert.Equal(AgentErrorCodes.NotFound, (string?)removed.Result["instances"]![1]!["error"]!["code"]);
    }

    [Fact]
    public async Task AServerRejection_AfterSomeWereRegistered_IsExit1_AndNamesWhatStaysRegistered()
    {
        try
        {
            var input = $$"""
                {"instances": [{"name": "okay", "image": "img.reject", "instance_id": "sd-ok7", "host": "127.0.0.1", "port": {{platform.Backends[0].Port}}, "ttl_seconds": 30},
                               {"name": "bad name", "image": "img.reject", "instance_id": "sd-ok8", "host": "127.0.0.1", "port": {{platform.Backends[1].Port}}, "ttl_seconds": 30}]}
                """;
            var result = await Cpctl.RunAsync(platform.CpctlEnvironment, "sd", "register", "--heartbeat", "false", "--input", input);
            Assert.True(result.ExitCode == 1, result.ToString());
            Assert.Contains("registered before it, and still registered: sd-ok7", result.Stderr, StringComparison.Ordinal);
            Assert.NotNull(await platform.InstanceAsync("sd-ok7"));
        }
        finally
        {
            if (await platform.InstanceAsync("sd-ok7") is not null)
            {
                await platform.ControlPlane.DeregisterAsync("sd-ok7");
            }
        }
    }

    [Fact]
    public async Task AnExpiredButRetainedId_UnderAnotherNameOrImage_IsADuplicate_AndNothingIsRegistered()
    {
        await platform.ControlPlane.RegisterAsync("img.sd-old", "sd-expired", platform.Backends[2], ttlSeconds: 1);
        try
        {
            await Eventually.WaitAsync("sd-expired to expire", async () => (await platform.InstanceAsync("sd-expired"))?.GetProperty("status").GetString() == "expired");
            await using var session = platform.Session();
            var refused = await session.RunAsync("sd", "register", new { instances = new[] { Instance("sd-fresh", "img.sd-new", platform.Backends[0]), Instance("sd-expired", "img.sd-new", platform.Backends[2]) }, heartbeat = false });
            Assert.Equal(AgentErrorCodes.DuplicateInstance, refused.Error!.Code);
            Assert.Contains("nothing was registered", refused.Error.Detail, StringComparison.Ordinal);
            Assert.Null(await platform.InstanceAsync("sd-fresh"));
        }
        finally
        {
            foreach (var id in new[] { "sd-expired", "sd-fresh" })
            {
                if (await platform.InstanceAsync(id) is not null)
                {
                    await platform.ControlPlane.DeregisterAsync(id);
                }
            }
        }
    }

    [Theory]
    [InlineData("""{"instances": [{"name": "x"}]}""", "$.instances[0]: missing required")]
    [InlineData("""{"instances": "nope"}""", "$.instances: expected an array")]
    [InlineData("""{"instances": [{"name": "x", "image": "img.x", "instance_id": "i", "host": "h", "port": "80", "ttl_seconds": 30}]}""", "$.instances[0].port: expected a whole number")]
    public async Task InputErrors_NameTheJsonPathAndType_NotDotNetTypes(string input, string expected)
    {
        await using var session = platform.Session();
        var refused = await session.RunAsync("sd", "register", System.Text.Json.JsonDocument.Parse(input).RootElement.Clone());
        Assert.Equal(AgentErrorCodes.InvalidRequest, refused.Error!.Code);
        Assert.Contains(expected, refused.Error.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("ControlPlane.", refused.Error.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", refused.Error.Detail, StringComparison.Ordinal);
    }
}
