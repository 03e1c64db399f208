using ControlPlane.Api.V1;
using ControlPlane.Grpc;

namespace ControlPlane.Server.Tests.Registry;

/// <summary>Heartbeats, expiry at the deadline, removal after retention: all on virtual time.</summary>
public sealed class LeaseTests
{
    [Fact]
    public async Task Instance_ExpiresExactlyAtItsDeadline_NotBefore()
    {
        await using var bed = await RegistryTestBed.StartAsync();
        await bed.RegisterAsync(RegistryTestBed.Instance("i1", ttl: 30));

        bed.Clock.Advance(TimeSpan.FromSeconds(30) - TimeSpan.FromMilliseconds(1));
        Assert.Equal("healthy", await bed.StatusOfAsync("i1"));

        bed.Clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal("expired", await bed.StatusOfAsync("i1"));
        var listed = await bed.Registry.ListAsync(new ListServicesRequest { Status = "expired" });
        Assert.Equal(["i1"], listed.Instances.Select(i => i.InstanceId));
    }

    [Fact]
    public async Task Heartbeats_KeepAnInstanceAlive_AndAnswerTheNewExpiry()
    {
        await using var bed = await RegistryTestBed.StartAsync();
        await bed.RegisterAsync(RegistryTestBed.Instance("i1", ttl: 30));
        for (var i = 0; i < 10; i++)
        {
            bed.Clock.Advance(20);
            var beat = await bed.Registry.HeartbeatAsync(new HeartbeatRequest { InstanceId = "i1" });
            Assert.Equal(bed.Clock.GetUtcNow().AddSeconds(30), beat.ExpiresAt.ToDateTimeOffset());
            Assert.Equal(30, beat.TtlSeconds);
            Assert.Equal("healthy", beat.Status);
        }
        Assert.Equal("healthy", await bed.StatusOfAsync("i1"));
    }

    [Fact]
    public async Task Heartbeat_CanChangeTheTtl()
    {
        await using var bed = await RegistryTestBed.StartAsync();
        await bed.RegisterAsync(RegistryTestBed.Instance("i1", ttl: 30));
        var beat = await bed.Registry.HeartbeatAsync(new HeartbeatRequest { InstanceId = "i1", TtlSeconds = 5 });
        Assert.Equal(5, beat.TtlSeconds);
        bed.Clock.Advance(5);
        Assert.Equal("expired", await bed.StatusOfAsync("i1"));
    }

    [Fact]
    public async Task Heartbeat_ForAnExpiredOrUnknownInstance_IsNotFound_SoTheAgentRegistersAgain()
    {
        await using var bed = await RegistryTestBed.StartAsync();
        await bed.RegisterAsync(RegistryTestBed.Instance("i1", ttl: 10));
        bed.Clock.Advance(10);

        var expired = await RegistryTestBed.FailsAsync(() => bed.Registry.HeartbeatAsync(new HeartbeatRequest { InstanceId = "i1" }));
        var unknown = await RegistryTestBed.FailsAsync(() => bed.Registry.HeartbeatAsync(new HeartbeatRequest { InstanceId = "nope" }));
        Assert.Equal(StatusCode.NotFound, expired.StatusCode);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("expired", await bed.StatusOfAsync("i1"));

        var back = await bed.RegisterAsync(RegistryTestBed.Instance("i1", ttl: 10));
        Assert.Equal("healthy", back.Instance.Status);
        Assert.Equal("healthy", (await bed.Registry.HeartbeatAsync(new HeartbeatRequest { InstanceId = "i1" })).Status);
    }

    [Fact]
    public async Task AnExpiredInstancesId_UnderAnotherName_IsRefused_SayingUntilWhenAndHowToFreeIt()
    {
        await using var bed = await RegistryTestBed.StartAsync(o => o.ExpiredRetention = TimeSpan.FromSeconds(60));
        await bed.RegisterAsync(RegistryTestBed.Instance("i1", ttl: 10));
        bed.Clock.Advance(10);
        Assert.Equal("expired", await bed.StatusOfAsync("i1"));

        var error = await RegistryTestBed.FailsAsync(() => bed.RegisterAsync(RegistryTestBed.Instance("i1", name: "other-svc")));

        Assert.Equal("duplicate_instance_id", error.Status.Reason());
        var expiredAt = bed.Clock.GetUtcNow();
        Assert.Contains($"expired at {expiredAt:yyyy-MM-ddTHH:mm:ssZ}", error.Status.Detail, StringComparison.Ordinal);
        Assert.Contains($"removed at {expiredAt.AddSeconds(60):yyyy-MM-ddTHH:mm:ssZ}", error.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("deregister it", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExpiredInstances_AreRemovedAfterTheRetentionPeriod()
    {
        await using var bed = await RegistryTestBed.StartAsync(o => o.ExpiredRetention = TimeSpan.FromSeconds(60));
        await bed.RegisterAsync(RegistryTestBed.Instance("i1", ttl: 10));
        bed.Clock.Advance(10);
        bed.Clock.Advance(TimeSpan.FromSeconds(60) - TimeSpan.FromMilliseconds(1));
        Assert.Equal("expired", await bed.StatusOfAsync("i1"));

        bed.Clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Null(await bed.StatusOfAsync("i1"));
        Assert.Empty((await bed.Registry.ListAsync(new ListServicesRequest())).Instances);
    }

    [Fact]
    public async Task StreamBeat_AnswersEveryIdInOrder_RenewedNotFoundOrInvalid()
    {
        await using var bed = await RegistryTestBed.StartAsync();
        await bed.RegisterAsync(RegistryTestBed.Instance("i1", ttl: 30));
        await bed.RegisterAsync(RegistryTestBed.Instance("i2", ttl: 60));
        var request = new HeartbeatStreamRequest { BeatId = 7 };
        request.InstanceIds.AddRange(["i1", "ghost", "bad id/with slash", "i2"]);

        var response = await bed.Registry.BeatAsync(request);

        Assert.Equal(7ul, response.BeatId);
        Assert.Equal(
            [HeartbeatOutcome.Renewed, HeartbeatOutcome.NotFound, HeartbeatOutcome.InvalidArgument, HeartbeatOutcome.Renewed],
            response.Results.Select(r => r.Outcome));
        Assert.Equal(["i1", "ghost", "bad id/with slash", "i2"], response.Results.Select(r => r.InstanceId));
        Assert.Equal(bed.Clock.GetUtcNow().AddSeconds(60), response.Results[3].ExpiresAt.ToDateTimeOffset());
    }

    [Fact]
    public async Task StreamBeat_OverTheLimit_IsRefused_AndRenewsNothing()
    {
        await using var bed = await RegistryTestBed.StartAsync(o => o.MaxInstancesPerBeat = 3);
        await bed.RegisterAsync(RegistryTestBed.Instance("i1", ttl: 30));
        bed.Clock.Advance(20);
        var request = new HeartbeatStreamRequest();
        request.InstanceIds.AddRange(["i1", "i1", "i1", "i1"]);

        var error = await RegistryTestBed.FailsAsync(() => bed.Registry.BeatAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        bed.Clock.Advance(10);
        Assert.Equal("expired", await bed.StatusOfAsync("i1"));
    }

    [Fact]
    public async Task ManyInstances_ExpireEachAtItsOwnDeadline()
    {
        await using var bed = await RegistryTestBed.StartAsync(o => o.SelfPreservation.Enabled = false);
        for (var i = 1; i <= 5; i++)
        {
            await bed.RegisterAsync(RegistryTestBed.Instance("i" + i, ttl: i * 10));
        }
        for (var i = 1; i <= 5; i++)
        {
            bed.Clock.Advance(10);
            var expired = (await bed.Registry.ListAsync(new ListServicesRequest { Status = "expired" })).Instances.Select(x => x.InstanceId);
            Assert.Equal(Enumerable.Range(1, i).Select(n => "i" + n), expired.Order());
        }
    }
}
