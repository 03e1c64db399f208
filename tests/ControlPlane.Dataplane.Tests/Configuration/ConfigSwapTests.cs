using System.Net;

namespace ControlPlane.Dataplane.Tests.Configuration;

/// <summary>A config push while requests are in flight: they finish where they started; new ones follow the new config.</summary>
public sealed class ConfigSwapTests
{
    [Fact]
    public async Task InFlightRequest_FinishesOnItsSnapshot_NewRequestsUseTheNewOne()
    {
        await using var oldBackend = await TestBackend.StartAsync("old");
        await using var newBackend = await TestBackend.StartAsync("new");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", oldBackend);
        using var client = node.CreateClient();

        var inFlight = client.GetAsync("/g/img/hold");
        await oldBackend.Held.Task.DefaultTimeout();
        node.Route("img", newBackend);
        using var fresh = await client.GetAsync("/g/img/x").DefaultTimeout();
        oldBackend.Release.SetResult();
        using var finished = await inFlight.DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, finished.StatusCode);
        Assert.Equal("old", finished.Headers.GetValues("X-Backend").Single());
        Assert.Equal("new", fresh.Headers.GetValues("X-Backend").Single());
    }

    [Fact]
    public async Task RemovedImage_InFlightRequestFinishes_NewRequestsGet404()
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);
        using var client = node.CreateClient();

        var inFlight = client.GetAsync("/g/img/hold");
        await backend.Held.Task.DefaultTimeout();
        node.Config.Update();
        using var after = await client.GetAsync("/g/img/x").DefaultTimeout();
        backend.Release.SetResult();
        using var finished = await inFlight.DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, finished.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, after.StatusCode);
    }

    [Fact]
    public async Task ManySwapsUnderLoad_NoRequestFails()
    {
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", a);
        using var client = node.CreateClient();
        using var stop = new CancellationTokenSource();
        using var completed = new SemaphoreSlim(0);

        var load = Enumerable.Range(0, 4).Select(async _ =>
        {
            var statuses = new List<HttpStatusCode>();
            while (!stop.IsCancellationRequested)
            {
                using var response = await client.GetAsync("/g/img/x").DefaultTimeout();
                statuses.Add(response.StatusCode);
                completed.Release();
            }
            return statuses;
        }).ToArray();
        for (var i = 0; i < 100; i++)
        {
            node.Route("img", i % 2 == 0 ? b : a);
            // Every swap lands between requests that are really running.
            await completed.WaitAsync().DefaultTimeout();
        }
        await stop.CancelAsync();
        var all = (await Task.WhenAll(load).DefaultTimeout()).SelectMany(s => s).ToList();

        Assert.True(all.Count >= 100);
        Assert.All(all, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.NotEmpty(a.Requests);
        Assert.NotEmpty(b.Requests);
    }
}
