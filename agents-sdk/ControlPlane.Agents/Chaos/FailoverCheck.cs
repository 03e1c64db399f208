using System.Text.Json.Nodes;
using ControlPlane.Agents.Runtime;
using ControlPlane.Agents.Traffic;
using ControlPlane.Api.V1;

namespace ControlPlane.Agents.Chaos;

/// <summary>
/// Verifies that an image fails over once one of its instances is gone (§5.7 "Success"): the
/// dataplanes have acknowledged the endpoint change; then two rounds of traffic through a dataplane,
/// each of which must be all 2xx, and each followed by waiting until the control plane's stats
/// (window 1h, so nothing slides out meanwhile) have counted it. The first round flushes what was
/// served before the change; across the second, the gone instance's count must not grow while the
/// others' grows by at least the round's requests.
/// </summary>
internal static class FailoverCheck
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);
    private const string Window = "1h";

    /// <summary>The nodes' EndpointSet versions now (node id to acked version), to tell a later push from this one.</summary>
    public static async Task<Dictionary<string, string>> FleetVersionsAsync(ActionScope scope, CancellationToken ct)
    {
        var fleet = await scope.CallAsync(Rpcs.Dataplanes("ListDataplanes"), null, (c, t) => c.Dataplanes.ListDataplanesAsync(new ListDataplanesRequest(), t), ct).ConfigureAwait(false);
        return fleet.Dataplanes.ToDictionary(d => d.Node.Id, d => EndpointSets(d)?.VersionAcked ?? "", StringComparer.Ordinal);
    }

    /// <summary>Until every connected node has acknowledged an EndpointSet version newer than <paramref name="before"/> and is in sync.</summary>
    public static async Task<JsonArray> WaitForDataplanesAsync(ActionScope scope, Dictionary<string, string> before, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = scope.Time.GetUtcNow() + timeout;
        while (true)
        {
            var fleet = await scope.CallAsync(Rpcs.Dataplanes("ListDataplanes"), null, (c, t) => c.Dataplanes.ListDataplanesAsync(new ListDataplanesRequest(), t), ct).ConfigureAwait(false);
            var connected = fleet.Dataplanes.Where(d => d.State != SyncState.Disconnected).ToList();
            var lagging = connected.Where(d => EndpointSets(d) is not { State: SyncState.Synced } sets || sets.VersionAcked == before.GetValueOrDefault(d.Node.Id)).ToList();
            if (lagging.Count == 0)
            {
                return new JsonArray([.. connected.Select(d => (JsonNode)new JsonObject { ["node_id"] = d.Node.Id, ["endpoint_set_version"] = EndpointSets(d)?.VersionAcked })]);
            }
            if (scope.Time.GetUtcNow() > deadline)
            {
                throw new AgentFailure(AgentErrorCodes.FailoverFailed, $"the dataplanes did not acknowledge the change within {timeout.TotalSeconds:0} s: {string.Join(", ", lagging.Select(d => $"{d.Node.Id} ({EndpointSets(d)?.State ?? d.State})"))}");
            }
            await Task.Delay(Poll, scope.Time, ct).ConfigureAwait(false);
        }
    }

    public static async Task<JsonObject> VerifyAsync(ActionScope scope, string image, string goneId, Uri dataplane, ChaosSettings settings, CancellationToken ct)
    {
        var before = await CountsAsync(scope, image, ct).ConfigureAwait(false);
        var (round1, after1) = await RoundAsync(scope, image, dataplane, settings, Sum(before), ct).ConfigureAwait(false);
        var (round2, after2) = await RoundAsync(scope, image, dataplane, settings, Sum(after1), ct).ConfigureAwait(false);
        var goneDelta = after2.GetValueOrDefault(goneId) - after1.GetValueOrDefault(goneId);
        var othersDelta = Sum(after2, except: goneId) - Sum(after1, except: goneId);
        var result = new JsonObject
        {
            ["window"] = Window,
            ["counts_before"] = Counts(before),
            ["counts_after_flush"] = Counts(after1),
            ["counts_after"] = Counts(after2),
            ["gone_instance_delta"] = goneDelta,
            ["other_instances_delta"] = othersDelta,
            ["traffic"] = new JsonArray(round1, round2),
        };
        var servedByGone = new[] { round1, round2 }.Sum(r => r["distribution"]!.AsArray().Where(d => (string?)d!["instance"] == goneId).Sum(d => (long)d!["count"]!));
        if (goneDelta > 0 || servedByGone > 0)
        {
            throw new AgentFailure(AgentErrorCodes.FailoverFailed, $"{goneId} still served traffic after it was gone ({goneDelta} more requests counted in the stats, {servedByGone} answers named it)", result);
        }
        if (othersDelta < settings.Requests)
        {
            throw new AgentFailure(AgentErrorCodes.FailoverFailed, $"the other instances of {image} counted {othersDelta} more requests, fewer than the {settings.Requests} sent", result);
        }
        result["verdict"] = $"failover verified: {goneId} stopped growing; the other instances took {othersDelta} requests";
        return result;
    }

    /// <summary>
    /// One round of traffic before anything is changed: when the image does not serve now, a failure
    /// afterwards would say nothing about failover, and the instance would be gone for nothing.
    /// </summary>
    public static async Task<JsonObject> BaselineAsync(ActionScope scope, string image, Uri dataplane, ChaosSettings settings, CancellationToken ct)
    {
        var run = Run(image, dataplane, settings);
        var round = (await run.RunAsync(scope, null, ct).ConfigureAwait(false)).ToJson();
        if (run.Failed > 0)
        {
            throw new AgentFailure(AgentErrorCodes.BaselineFailed,
                $"traffic to {image} already fails before any change: {run.Failed} of {run.Sent} requests to {run.Url} failed (statuses {round["statuses"]!.ToJsonString()}); nothing was changed",
                new JsonObject { ["changed"] = false, ["baseline"] = round });
        }
        return round;
    }

    private static LoadRun Run(string image, Uri dataplane, ChaosSettings settings) => new()
    {
        Dataplane = dataplane,
        Image = image,
        Path = settings.Path,
        Rps = settings.Rps,
        Total = settings.Requests,
        Workers = (int)Math.Clamp(Math.Ceiling(settings.Rps / 10), 2, 16),
        InstanceHeader = "X-Instance-Id",
    };

    private static async Task<(JsonObject Round, Dictionary<string, long> After)> RoundAsync(ActionScope scope, string image, Uri dataplane, ChaosSettings settings, long totalBefore, CancellationToken ct)
    {
        var run = Run(image, dataplane, settings);
        var report = await run.RunAsync(scope, null, ct).ConfigureAwait(false);
        var round = report.ToJson();
        if (run.Failed > 0)
        {
            throw new AgentFailure(AgentErrorCodes.FailoverFailed, $"{run.Failed} of {run.Sent} requests to {run.Url} failed (statuses {round["statuses"]!.ToJsonString()})", new JsonObject { ["traffic"] = round });
        }
        // Dataplanes report what they served every few seconds: wait until this round is counted.
        var deadline = scope.Time.GetUtcNow() + TimeSpan.FromSeconds(settings.SettleTimeoutS);
        while (true)
        {
            var counts = await CountsAsync(scope, image, ct).ConfigureAwait(false);
            if (Sum(counts) >= totalBefore + settings.Requests)
            {
                return (round, counts);
            }
            if (scope.Time.GetUtcNow() > deadline)
            {
                throw new AgentFailure(AgentErrorCodes.FailoverFailed,
                    $"the stats of {image} counted {Sum(counts) - totalBefore} of the {settings.Requests} requests sent within {settings.SettleTimeoutS} s: are the dataplanes reporting load?", new JsonObject { ["traffic"] = round, ["counts"] = Counts(counts) });
            }
            await Task.Delay(Poll, scope.Time, ct).ConfigureAwait(false);
        }
    }

    private static async Task<Dictionary<string, long>> CountsAsync(ActionScope scope, string image, CancellationToken ct)
    {
        var request = new GetInstanceStatsRequest { Image = image, Window = Window };
        var stats = await scope.CallAsync(Rpcs.Stats("GetInstanceStats"), image, (c, t) => c.Stats.GetInstanceStatsAsync(request, t), ct).ConfigureAwait(false);
        return stats.Instances.Where(i => i.Image == image).ToDictionary(i => i.InstanceId, i => i.ReqCount, StringComparer.Ordinal);
    }

    private static long Sum(Dictionary<string, long> counts, string? except = null) => counts.Where(c => c.Key != except).Sum(c => c.Value);

    private static JsonObject Counts(Dictionary<string, long> counts)
    {
        var json = new JsonObject();
        foreach (var (id, count) in counts.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            json[id] = count;
        }
        return json;
    }

    private static ResourceTypeSyncStatus? EndpointSets(DataplaneStatus node) =>
        node.ResourceTypes.FirstOrDefault(r => r.TypeUrl == ControlPlane.Sdk.Discovery.ResourceTypeUrls.EndpointSet);
}
