using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ControlPlane.Dataplane.Reporting;
using ControlPlane.Dataplane.Tests.Discovery;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Dataplane.Tests.Reporting;

/// <summary>
/// End to end: a real control plane, a real dataplane node configured by it, two backends. Exactly
/// N requests are sent, the node is restarted in between with its state directory, and the stats
/// and the billing export count exactly N: nothing lost, nothing twice.
/// </summary>
public sealed class BillingAcrossRestartTests : IAsyncLifetime
{
    private const string Image = "img.bill";

    private readonly string _stateDirectory = Directory.CreateTempSubdirectory("dp-billing-").FullName;
    private readonly ShiftedTimeProvider _controlPlaneClock = new();
    private readonly Dictionary<string, long> _received = [];
    private readonly Dictionary<string, int> _sent = [];
    private ControlPlaneProcess _controlPlane = null!;
    private TestBackend _b1 = null!;
    private TestBackend _b2 = null!;

    public async ValueTask InitializeAsync()
    {
        _controlPlane = await ControlPlaneProcess.StartAsync(_controlPlaneClock);
        _b1 = await TestBackend.StartAsync("b1");
        _b2 = await TestBackend.StartAsync("b2");
        await _controlPlane.RegisterAsync(Image, "i1", _b1);
        await _controlPlane.RegisterAsync(Image, "i2", _b2);
    }

    public async ValueTask DisposeAsync()
    {
        await _controlPlane.DisposeAsync();
        await _b1.DisposeAsync();
        await _b2.DisposeAsync();
        Directory.Delete(_stateDirectory, recursive: true);
    }

    [Fact]
    public async Task BillingTotals_EqualTheRequestsSent_AcrossANodeRestart()
    {
        string epoch;
        ulong sequenceBeforeRestart;
        await using (var node = await StartNodeAsync(out var clock))
        {
            var reporter = node.Services.GetRequiredService<LoadReporter>();
            epoch = reporter.Epoch;
            using var http = node.CreateClient();
            await SendAsync(http, "ok", 20, HttpStatusCode.OK);
            await SendAsync(http, "status/404", 2, HttpStatusCode.NotFound);
            await SendAsync(http, "status/500", 1, HttpStatusCode.InternalServerError);
            await SendUnknownAsync(http, 2);
            await ProxyCountingTests.CountedAsync(http);
            clock.Advance(reporter.Interval); // one interval reported and acknowledged while the node runs
            await WaitUntilAsync(reporter, () => reporter.LastSequence == 1 && reporter.PendingCount == 0, "the first report acknowledged");

            await SendAsync(http, "ok", 15, HttpStatusCode.OK);
            await SendUnknownAsync(http, 1);
            // Stopping closes the last interval into a report and keeps it on disk (the fixture does
            // not wait for its acknowledgement): whether it reached the control plane or not, the
            // restarted node resends it under the same epoch.
            await node.StopAsync();
            sequenceBeforeRestart = reporter.LastSequence;
            Assert.Equal(2ul, sequenceBeforeRestart);
        }

        await using (var node = await StartNodeAsync(out var clock))
        {
            var reporter = node.Services.GetRequiredService<LoadReporter>();
            Assert.Equal(epoch, reporter.Epoch);
            using var http = node.CreateClient();
            await SendAsync(http, "ok", 25, HttpStatusCode.OK);
            await SendAsync(http, "status/404", 1, HttpStatusCode.NotFound);
            await SendAsync(http, "status/500", 1, HttpStatusCode.InternalServerError);
            await ProxyCountingTests.CountedAsync(http);
            clock.Advance(reporter.Interval);
            await WaitUntilAsync(reporter, () => reporter.LastSequence == sequenceBeforeRestart + 1 && reporter.PendingCount == 0, "every report acknowledged");
        }

        // The last report landed in the control plane's current 10 s bucket: let its clock pass it.
        _controlPlaneClock.Advance(TimeSpan.FromSeconds(20));
        var sent = _sent.Values.Sum();
        Assert.Equal(65, _sent[Image]);

        var images = await GetJsonAsync("/v1/stats/images?window=1h");
        var stats = images.EnumerateArray().Single(i => i.GetProperty("image").GetString() == Image);
        Assert.Equal(_sent[Image], stats.GetProperty("req_count").GetInt64());
        Assert.Equal(3, stats.GetProperty("errors_4xx").GetInt64());
        Assert.Equal(2, stats.GetProperty("errors_5xx").GetInt64());
        Assert.Equal(_received[Image], stats.GetProperty("bytes_tx").GetInt64());
        var unknown = images.EnumerateArray().Single(i => i.GetProperty("image").GetString() == "_unknown");
        Assert.Equal((3L, 3L), (unknown.GetProperty("req_count").GetInt64(), unknown.GetProperty("errors_4xx").GetInt64()));

        var instances = await GetJsonAsync($"/v1/stats/instances?image={Image}&window=1h");
        Assert.Equal(["i1", "i2"], instances.EnumerateArray().Select(i => i.GetProperty("instance_id").GetString()));
        Assert.Equal(_sent[Image], instances.EnumerateArray().Sum(i => i.GetProperty("req_count").GetInt64()));
        Assert.Equal(_received[Image], instances.EnumerateArray().Sum(i => i.GetProperty("bytes_tx").GetInt64()));

        using var export = await _controlPlane.Client.PostAsync("/v1/billing/export?window=1h", null).DefaultTimeout();
        var body = await export.Content.ReadAsStringAsync().DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, export.StatusCode);
        var billing = JsonDocument.Parse(body).RootElement;
        Assert.Equal(sent, billing.GetProperty("images").EnumerateArray().Sum(i => i.GetProperty("req_count").GetInt64()));
        Assert.Equal(_sent[Image], billing.GetProperty("images").EnumerateArray().Single(i => i.GetProperty("image").GetString() == Image).GetProperty("req_count").GetInt64());
        var checksum = billing.GetProperty("checksum").GetString()!;
        var canonical = body.Replace($",\"checksum\":\"{checksum}\"", "", StringComparison.Ordinal);
        Assert.Equal(checksum, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical))));
    }

    private Task<DataplaneFixture> StartNodeAsync(out ManualTimeProvider clock)
    {
        var time = clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        return StartAsync();

        async Task<DataplaneFixture> StartAsync()
        {
            var node = await DataplaneFixture.StartAsync(
                builder => builder.Services.AddSingleton<TimeProvider>(time),
                $"--Dataplane:ControlPlanes:0={_controlPlane.Grpc}",
                "--Dataplane:NodeId=node-billing",
                $"--Dataplane:StateDirectory={_stateDirectory}");
            await WaitForImageAsync(node);
            return node;
        }
    }

    private static async Task WaitForImageAsync(DataplaneFixture node)
    {
        while (true)
        {
            var current = node.Config.Current;
            // Both instances: the registrations may reach the node in two pushes, and the counts per instance are checked.
            if (current.TryGetImage(Image, out var route) && route.Endpoints.Endpoints.Count == 2)
            {
                return;
            }
            var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (current.ChangeToken.RegisterChangeCallback(_ => changed.TrySetResult(), null))
            {
                await changed.Task.DefaultTimeout();
            }
        }
    }

    private async Task SendAsync(HttpClient http, string path, int count, HttpStatusCode expected)
    {
        for (var i = 0; i < count; i++)
        {
            using var response = await http.GetAsync($"/g/{Image}/{path}?n={i}").DefaultTimeout();
            Assert.Equal(expected, response.StatusCode);
            Count(Image, (await response.Content.ReadAsByteArrayAsync().DefaultTimeout()).Length);
        }
    }

    private async Task SendUnknownAsync(HttpClient http, int count)
    {
        for (var i = 0; i < count; i++)
        {
            using var response = await http.GetAsync("/g/img.none/x").DefaultTimeout();
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Count("_unknown", (await response.Content.ReadAsByteArrayAsync().DefaultTimeout()).Length);
        }
    }

    private void Count(string image, long bytes)
    {
        _sent[image] = _sent.GetValueOrDefault(image) + 1;
        _received[image] = _received.GetValueOrDefault(image) + bytes;
    }

    private async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await _controlPlane.Client.GetAsync(path).DefaultTimeout();
        var text = await response.Content.ReadAsStringAsync().DefaultTimeout();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Waits until <paramref name="condition"/> holds, re-checking at each change of the reporter's reports.</summary>
    private static async Task WaitUntilAsync(LoadReporter reporter, Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TaskTimeoutExtensions.Timeout;
        while (true)
        {
            var changed = reporter.Changed;
            if (condition())
            {
                return;
            }
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || await Task.WhenAny(changed, Task.Delay(left)) != changed)
            {
                throw new TimeoutException($"Timed out waiting for {what}: sequence {reporter.LastSequence}, acknowledged {reporter.LastAcknowledged}, pending {reporter.PendingCount}");
            }
        }
    }
}
