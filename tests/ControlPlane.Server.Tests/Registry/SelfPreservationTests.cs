using ControlPlane.Api.V1;

namespace ControlPlane.Server.Tests.Registry;

/// <summary>Eureka-style self-preservation: a normal expiry proceeds, a mass expiry is held until heartbeats recover.</summary>
public sealed class SelfPreservationTests
{
    private static async Task<RegistryTestBed> FleetAsync(int size)
    {
        var bed = await RegistryTestBed.StartAsync(o =>
        {
            o.SelfPreservation.Threshold = 0.15;
            o.SelfPreservation.Window = TimeSpan.FromMinutes(1);
            o.SelfPreservation.MinInstances = 10;
        });
        for (var i = 0; i < size; i++)
        {
            await bed.RegisterAsync(RegistryTestBed.Instance("i" + i, ttl: 30));
        }
        return bed;
    }

    [Fact]
    public async Task OneSilentInstance_InAFleetOf20_ExpiresNormally()
    {
        await using var bed = await FleetAsync(20);
        bed.Clock.Advance(20);
        await bed.BeatAsync(Enumerable.Range(1, 19).Select(i => "i" + i).ToArray());
        bed.Clock.Advance(10);

        Assert.Equal("expired", await bed.StatusOfAsync("i0"));
        Assert.False(bed.Registry.SelfPreservationEngaged);
    }

    [Fact]
    public async Task HalfTheFleetGoingSilent_IsHeld_ThenReleasedWhenHeartbeatsRecover()
    {
        await using var bed = await FleetAsync(20);
        var silent = Enumerable.Range(0, 10).Select(i => "i" + i).ToArray();
        var talking = Enumerable.Range(10, 10).Select(i => "i" + i).ToArray();

        bed.Clock.Advance(20);
        await bed.BeatAsync(talking);
        bed.Clock.Advance(10);

        // 10 of 20 overdue at once (50% > 15%): nothing expires, the registry says why.
        Assert.True(bed.Registry.SelfPreservationEngaged);
        foreach (var id in silent)
        {
            Assert.Equal("healthy", await bed.StatusOfAsync(id));
        }
        Assert.True((await bed.Registry.GetTopologyAsync(new GetTopologyRequest())).SelfPreservation);
        Assert.Contains(bed.Logs.Records, r => r.EventId.Id == 3005 && r.Level == Microsoft.Extensions.Logging.LogLevel.Warning);

        // Held for as long as the silence lasts.
        bed.Clock.Advance(15);
        await bed.BeatAsync(talking);
        bed.Clock.Advance(60);
        await bed.BeatAsync(talking);
        Assert.True(bed.Registry.SelfPreservationEngaged);
        Assert.Equal("healthy", await bed.StatusOfAsync("i0"));

        // The network heals: the silent ones beat again (they were never expired, so they are renewed).
        await bed.BeatAsync(silent);
        bed.Clock.Advance(1);
        Assert.False(bed.Registry.SelfPreservationEngaged);
        Assert.Contains(bed.Logs.Records, r => r.EventId.Id == 3006);

        // Expiry works again for an ordinary single failure.
        await bed.BeatAsync(talking);
        await bed.BeatAsync(silent.Skip(1).ToArray());
        bed.Clock.Advance(30);
        Assert.Equal("expired", await bed.StatusOfAsync("i0"));
        Assert.Equal("healthy", await bed.StatusOfAsync("i1"));
    }

    [Fact]
    public async Task SmallFleets_AreBelowTheMinimum_AndExpireNormally()
    {
        await using var bed = await FleetAsync(4);
        bed.Clock.Advance(30);
        Assert.False(bed.Registry.SelfPreservationEngaged);
        Assert.Equal("expired", await bed.StatusOfAsync("i0"));
        Assert.Equal("expired", await bed.StatusOfAsync("i3"));
    }

    [Fact]
    public async Task ExpiriesAccumulateOverTheWindow()
    {
        // 2 of 20 expire (10%), then 2 more within the same minute would make 20% > 15%: held.
        await using var bed = await FleetAsync(20);
        var all = Enumerable.Range(0, 20).Select(i => "i" + i).ToArray();
        bed.Clock.Advance(20);
        await bed.BeatAsync(all[2..]);
        bed.Clock.Advance(10);
        Assert.Equal("expired", await bed.StatusOfAsync("i0"));
        Assert.Equal("expired", await bed.StatusOfAsync("i1"));

        await bed.BeatAsync(all[4..]);
        bed.Clock.Advance(30);
        Assert.True(bed.Registry.SelfPreservationEngaged);
        Assert.Equal("healthy", await bed.StatusOfAsync("i2"));
    }
}
