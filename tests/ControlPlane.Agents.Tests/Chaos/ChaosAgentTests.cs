using ControlPlane.Agents.Tests.Infrastructure;

namespace ControlPlane.Agents.Tests.Chaos;

[Collection(PlatformCollection.Name)]
public sealed class ChaosAgentTests(AgentPlatform platform)
{
    // Ids equal to the backends' own, so the X-Instance-Id of each answer names the registered instance.
    private object Instance(string image, BackendProcess backend, int ttl = 30) =>
        new { name = image + "-svc", image, instance_id = backend.InstanceId, host = "127.0.0.1", port = backend.Port, ttl_seconds = ttl };

    [Fact]
    public async Task ExpireInstance_OnAHealthyFleet_StopsItsHeartbeats_AndVerifiesTheFailover()
    {
        const string image = "img.chaos";
        await using var session = platform.Session();
        var registered = await session.RunAsync("sd", "register", new { instances = new[] { Instance(image, platform.Backends[0]), Instance(image, platform.Backends[1]) } });
        Assert.True(registered.Ok, registered.ToJson());
        try
        {
            await platform.WaitRoutedAsync(image, ["b1", "b2"]);
            var input = new { instance_id = "b1", lease_s = 1, requests = 20, rps = 40 };

            var refused = await session.RunAsync("chaos", "expire-instance", input);
            Assert.Equal(AgentErrorCodes.ApprovalRequired, refused.Error!.Code);
            Assert.Equal("healthy", (await platform.InstanceAsync("b1"))!.Value.GetProperty("status").GetString());

            var expired = await session.RunAsync("chaos", "expire-instance", input, approve: true);
            Assert.True(expired.Ok, expired.ToJson());
            Assert.True((bool)expired.Result!["heartbeats_stopped_here"]!);
            Assert.Equal("expired", (string?)expired.Result["expired"]!["status"]);
            var failover = expired.Result["failover"]!;
            Assert.Equal(0, (long)failover["gone_instance_delta"]!);
            Assert.True((long)failover["other_instances_delta"]! >= 20, failover.ToJsonString());
            Assert.All(failover["traffic"]!.AsArray(), round => Assert.Equal(0, (long)round!["failed"]!));
            Assert.Equal("expired", (await platform.InstanceAsync("b1"))!.Value.GetProperty("status").GetString());
            // The other instance's heartbeats go on.
            Assert.Equal(1, session.Runtime.HeartbeatingInstances);
        }
        finally
        {
            await session.RunAsync("sd", "deregister", new { instance_ids = new[] { "b2" } }, approve: true);
            if (await platform.InstanceAsync("b1") is not null)
            {
                await platform.ControlPlane.DeregisterAsync("b1");
            }
        }
    }

    [Fact]
    public async Task ExpireInstance_WithNoOtherInstance_FailsClearly_AndChangesNothing()
    {
        const string image = "img.lonely";
        await using var session = platform.Session();
        Assert.True((await session.RunAsync("sd", "register", new { instances = new[] { Instance(image, platform.Backends[2]) } })).Ok);
        try
        {
            var refused = await session.RunAsync("chaos", "expire-instance", new { instance_id = "b3", lease_s = 1 }, approve: true);
            Assert.Equal(AgentErrorCodes.NoFailoverTarget, refused.Error!.Code);
            Assert.Contains("only healthy instance of img.lonely", refused.Error.Detail, StringComparison.Ordinal);
            Assert.Equal(1, session.Runtime.HeartbeatingInstances);
            Assert.Equal("healthy", (await platform.InstanceAsync("b3"))!.Value.GetProperty("status").GetString());
        }
        finally
        {
            await session.RunAsync("sd", "deregister", new { instance_ids = new[] { "b3" } }, approve: true);
        }
    }

    [Fact]
    public async Task ExpireInstance_OfAnInstanceThisProcessDoesNotHeartbeat_SaysSo()
    {
        await using var fleet = await platform.RegisterAsync("img.elsewhere", "e-", [platform.Backends[0], platform.Backends[1]]);
        await using var session = platform.Session();
        var refused = await session.RunAsync("chaos", "expire-instance", new { instance_id = "e-b1" }, approve: true);
        Assert.Equal(AgentErrorCodes.StillHeartbeated, refused.Error!.Code);
        Assert.Contains("not kept alive by this process", refused.Error.Detail, StringComparison.Ordinal);
        Assert.Equal("healthy", (await platform.InstanceAsync("e-b1"))!.Value.GetProperty("status").GetString());
    }

    [Fact]
    public async Task DeleteInstance_NeedsApproval_ThenDeregisters_AndVerifiesTheFailover()
    {
        const string image = "img.delete";
        await using var fleet = await platform.RegisterAsync(image, "d-", [platform.Backends[0], platform.Backends[1]]);
        await using var session = platform.Session();
        var input = new { instance_id = "d-b1", requests = 20, rps = 40 };
        Assert.Equal(AgentErrorCodes.ApprovalRequired, (await session.RunAsync("chaos", "delete-instance", input)).Error!.Code);
        Assert.NotNull(await platform.InstanceAsync("d-b1"));

        var deleted = await session.RunAsync("chaos", "delete-instance", input, approve: true);
        Assert.True(deleted.Ok, deleted.ToJson());
        Assert.Null(await platform.InstanceAsync("d-b1"));
        Assert.Equal(0, (long)deleted.Result!["failover"]!["gone_instance_delta"]!);
        Assert.Equal("d-b1", (string?)deleted.Result["register_again"]!["instances"]![0]!["instance_id"]);
    }

    [Fact]
    public async Task DeleteInstance_WhenTrafficToTheImageAlreadyFails_RefusesAndDeletesNothing()
    {
        const string image = "img.broken";
        // Both instances at ports nothing listens on: the image does not serve before anything is changed.
        try
        {
            await platform.ControlPlane.RegisterAsync(image, "x-1", FreePorts.Next());
            await platform.ControlPlane.RegisterAsync(image, "x-2", FreePorts.Next());
            await using var session = platform.Session();
            var refused = await session.RunAsync("chaos", "delete-instance", new { instance_id = "x-1", requests = 4, rps = 40 }, approve: true);
            Assert.Equal(AgentErrorCodes.BaselineFailed, refused.Error!.Code);
            Assert.Contains("nothing was changed", refused.Error.Detail, StringComparison.Ordinal);
            Assert.NotNull(await platform.InstanceAsync("x-1"));
        }
        finally
        {
            foreach (var id in new[] { "x-1", "x-2" })
            {
                if (await platform.InstanceAsync(id) is not null)
                {
                    await platform.ControlPlane.DeregisterAsync(id);
                }
            }
        }
    }
}
