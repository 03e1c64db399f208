using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ControlPlane.Agents.Billing;
using ControlPlane.Agents.Health;
using ControlPlane.Agents.Policy;
using ControlPlane.Agents.Runtime;
using ControlPlane.Agents.Stats;
using ControlPlane.Api.V1;
using ControlPlane.LoadBalancing;

namespace ControlPlane.Agents.Incident;

/// <summary>
/// incident-bot (platform-agents-spec §5.9): one-click runbooks. check-readiness probes every target
/// and reads the fleet view (nodes out of sync or rejecting config are the "recent errors" the
/// platform can show); refresh-discovery reads topology and endpoints now; flip-policy sets an
/// image to round_robin (with approval) and prints the exact cpctl command that restores the
/// previous policy; export-stats exports the last 10 minutes.
/// </summary>
internal static class IncidentBot
{
    public static readonly AgentInfo Info = new("incident-bot", "incident", "One-click runbooks during incidents: readiness, discovery refresh, policy flip, stats export.");

    public static IEnumerable<AgentAction> Actions() =>
    [
        AgentAction.Create<CheckInput>(Info, "check-readiness",
            "Probes /readyz of the control plane and every dataplane, and reads the fleet view: nodes not in sync, rejected configurations, self-preservation.",
            CheckReadinessAsync, readOnly: true),
        AgentAction.Create<RefreshInput>(Info, "refresh-discovery",
            "Reads the topology and every image's endpoints from the control plane now (what a discovery client refresh would fetch).",
            RefreshDiscoveryAsync, readOnly: true, target: i => i.Image),
        AgentAction.Create<FlipInput>(Info, "flip-policy",
            "Sets an image's policy to round_robin temporarily (needs approval) and prints the exact cpctl command that restores the previous policy.",
            FlipPolicyAsync, ApprovalRule.Always, target: i => i.Image, positionals: ["image"]),
        AgentAction.Create<ExportStatsInput>(Info, "export-stats",
            "Exports the last 10 minutes of traffic for root-cause analysis: exact per-image counts from two consecutive 5-minute billing windows (the stats API offers 1m, 5m and 1h windows, not 10m), plus the 5-minute per-image and per-instance stats with latency.",
            ExportStatsAsync, target: i => i.Image),
    ];

    private static async Task<AgentEnvelope> CheckReadinessAsync(CheckInput input, ActionScope scope, CancellationToken ct)
    {
        var targets = HealthAgent.Targets(scope, input.Targets);
        if (scope.DryRun)
        {
            return scope.Planned([
                .. targets.Select(t => scope.Plan(Readiness.Call(t.Base), note: t.Target)),
                scope.Plan(Rpcs.Dataplanes("ListDataplanes"), new ListDataplanesRequest()),
                scope.Plan(Rpcs.Registry("GetTopology"), new GetTopologyRequest()),
            ]);
        }
        var probes = await HealthAgent.RoundAsync(scope, targets, ct).ConfigureAwait(false);
        var problems = probes.Where(p => !p.Ready).Select(p => $"{p.Target} ({p.Url}): {p.Summary}").ToList();
        var fleet = new JsonArray();
        bool? selfPreservation = null;
        if (probes[0].Ready || input.Targets is { Count: > 0 })
        {
            try
            {
                var nodes = await scope.CallAsync(Rpcs.Dataplanes("ListDataplanes"), null, (c, t) => c.Dataplanes.ListDataplanesAsync(new ListDataplanesRequest(), t), ct).ConfigureAwait(false);
                foreach (var node in nodes.Dataplanes)
                {
                    var rejected = node.ResourceTypes.Where(r => r.VersionRejected.Length > 0).Select(r => $"{r.TypeUrl.Split('.')[^1]} {r.VersionRejected}: {r.RejectionError?.Message}").ToList();
                    fleet.Add(new JsonObject
                    {
                        ["node_id"] = node.Node.Id,
                        ["state"] = node.State.ToString().ToUpperInvariant(),
                        ["rejections"] = new JsonArray([.. rejected.Select(r => JsonValue.Create(r))]),
                    });
                    if (node.State != SyncState.Synced)
                    {
                        problems.Add($"dataplane {node.Node.Id} is {node.State.ToString().ToUpperInvariant()}{(rejected.Count > 0 ? ": " + string.Join("; ", rejected) : "")}");
                    }
                }
                var topology = await scope.CallAsync(Rpcs.Registry("GetTopology"), null, (c, t) => c.Registry.GetTopologyAsync(new GetTopologyRequest(), t), ct).ConfigureAwait(false);
                selfPreservation = topology.SelfPreservation;
                if (topology.SelfPreservation)
                {
                    problems.Add("the registry is in self-preservation: expiry is held because too many leases ran out at once");
                }
            }
            catch (ControlPlane.Sdk.ControlPlaneException ex)
            {
                problems.Add($"the control plane's API: {ex.ErrorCode}: {ex.Detail}");
            }
        }
        var result = new JsonObject
        {
            ["ready"] = problems.Count == 0,
            ["targets"] = new JsonArray([.. probes.Select(p => (JsonNode)p.ToJson())]),
            ["dataplanes"] = fleet,
            ["self_preservation"] = selfPreservation,
            ["problems"] = new JsonArray([.. problems.Select(p => JsonValue.Create(p))]),
        };
        var text = HealthAgent.Table(probes) + (fleet.Count > 0 ? Environment.NewLine + TextTable.Render(["node_id", "state", "rejections"], fleet.Cast<JsonObject>()) : "")
            + (problems.Count > 0 ? Environment.NewLine + "problems:" + Environment.NewLine + string.Concat(problems.Select(p => "  " + p + Environment.NewLine)) : "");
        return problems.Count == 0 ? scope.Ok(result, text) : scope.Fail(AgentErrorCodes.NotReady, string.Join("; ", problems), result, text);
    }

    private static async Task<AgentEnvelope> RefreshDiscoveryAsync(RefreshInput input, ActionScope scope, CancellationToken ct)
    {
        var request = new GetTopologyRequest { Image = input.Image ?? "" };
        if (scope.DryRun)
        {
            return scope.Planned([scope.Plan(Rpcs.Registry("GetTopology"), request)]);
        }
        var topology = await scope.CallAsync(Rpcs.Registry("GetTopology"), input.Image, (c, t) => c.Registry.GetTopologyAsync(request, t), ct).ConfigureAwait(false);
        var images = new JsonArray();
        var rows = new List<JsonObject>();
        foreach (var image in topology.Images)
        {
            var instances = image.Services.SelectMany(s => s.Instances).ToList();
            var endpoints = instances.Where(i => i.Status == "healthy").Select(i => (JsonNode)new JsonObject { ["instance_id"] = i.InstanceId, ["address"] = $"{i.Host}:{i.Port}" }).ToList();
            images.Add(new JsonObject
            {
                ["image"] = image.Image,
                ["algorithm"] = image.Algorithm,
                ["services"] = new JsonArray([.. image.Services.Select(s => JsonValue.Create(s.Name))]),
                ["healthy"] = instances.Count(i => i.Status == "healthy"),
                ["draining"] = instances.Count(i => i.Status == "draining"),
                ["expired"] = instances.Count(i => i.Status == "expired"),
                ["endpoints"] = new JsonArray([.. endpoints]),
            });
            rows.Add(new JsonObject
            {
                ["image"] = image.Image,
                ["algorithm"] = image.Algorithm,
                ["healthy"] = instances.Count(i => i.Status == "healthy"),
                ["draining"] = instances.Count(i => i.Status == "draining"),
                ["expired"] = instances.Count(i => i.Status == "expired"),
                ["endpoints"] = string.Join(" ", instances.Where(i => i.Status == "healthy").Select(i => $"{i.InstanceId}@{i.Host}:{i.Port}")),
            });
        }
        var result = new JsonObject
        {
            ["generated_at"] = ProtoJson.Time(topology.GeneratedAt),
            ["images"] = images,
            ["dataplanes"] = topology.Dataplanes.Count,
            ["self_preservation"] = topology.SelfPreservation,
        };
        var text = $"topology at {result["generated_at"]}: {images.Count} images, {topology.Dataplanes.Count} dataplanes{(topology.SelfPreservation ? ", SELF-PRESERVATION" : "")}{Environment.NewLine}" + TextTable.Render(rows);
        return scope.Ok(result, text);
    }

    private static async Task<AgentEnvelope> FlipPolicyAsync(FlipInput input, ActionScope scope, CancellationToken ct)
    {
        var request = new SetPolicyRequest { Image = input.Image, Algorithm = LoadBalancingAlgorithms.RoundRobin, Reason = input.Reason ?? $"incident-bot flip-policy (trace {scope.TraceId})" };
        if (scope.DryRun)
        {
            return scope.Planned([
                scope.Plan(Rpcs.Policy("GetPolicy"), new GetPolicyRequest { Image = input.Image }, "the policy to restore later"),
                scope.Plan(Rpcs.Policy("SetPolicy"), request),
                scope.Plan(Rpcs.Policy("GetPolicy"), new GetPolicyRequest { Image = input.Image }, "confirm by reading back"),
            ]);
        }
        var previous = await LbPolicyAgent.ReadAsync(scope, input.Image, ct).ConfigureAwait(false);
        var restore = RestoreCommand.For(input.Image, previous, "restore after incident flip");
        var result = new JsonObject { ["image"] = input.Image, ["previous"] = ProtoJson.Policy(previous), ["restore_command"] = restore };
        if (previous is { Algorithm: LoadBalancingAlgorithms.RoundRobin, Weights.Count: 0 })
        {
            result["changed"] = false;
            return scope.Ok(result, $"{input.Image} is already {LoadBalancingAlgorithms.RoundRobin}; nothing to flip{Environment.NewLine}");
        }
        var before = previous is null ? "no stored policy (round_robin)" : LbPolicyAgent.Summary(PolicyState.From(previous));
        scope.RequireApproval(true, $"flipping {input.Image} from {before} to {LoadBalancingAlgorithms.RoundRobin}", result);
        await LbPolicyAgent.WriteAsync(scope, request, ct).ConfigureAwait(false);
        var now = await LbPolicyAgent.ReadAsync(scope, input.Image, ct).ConfigureAwait(false);
        if (now is not { Algorithm: LoadBalancingAlgorithms.RoundRobin })
        {
            throw new AgentFailure(AgentErrorCodes.ConfirmFailed, $"{input.Image}: the policy read back is {(now is null ? "none" : now.Algorithm)}, not round_robin", result);
        }
        result["changed"] = true;
        result["policy"] = ProtoJson.Policy(now);
        await scope.PostToChannelAsync("announcement", $"incident-bot flipped {input.Image} from {before} to round_robin; restore with: {restore}",
            new JsonObject { ["image"] = input.Image, ["restore_command"] = restore }, ct).ConfigureAwait(false);
        return scope.Ok(result, $"{input.Image}: {before} -> {LoadBalancingAlgorithms.RoundRobin}{Environment.NewLine}restore the previous policy with:{Environment.NewLine}  {restore}{Environment.NewLine}");
    }

    private static async Task<AgentEnvelope> ExportStatsAsync(ExportStatsInput input, ActionScope scope, CancellationToken ct)
    {
        var latest = BillingExportAgent.FetchCall(scope, "5m", null);
        var imageStats = new GetImageStatsRequest { Window = "5m", Image = input.Image ?? "" };
        var instanceStats = new GetInstanceStatsRequest { Window = "5m", Image = input.Image ?? "" };
        if (scope.DryRun)
        {
            return scope.Planned([
                scope.Plan(latest, note: "the last 5 minutes, exactly"),
                // The second window's end is known only from the first answer: a placeholder, not a time that looks real.
                scope.Plan(new HttpCall(HttpMethod.Post, Urls.Combine(scope.Options.LbBase, "v1/billing/export?window=5m&end_time=WINDOW_START")) { SafeToRepeat = true, NoRetry = true },
                    note: "WINDOW_START = the first export's window_start: the 5 minutes before"),
                scope.Plan(Rpcs.Stats("GetImageStats"), imageStats),
                scope.Plan(Rpcs.Stats("GetInstanceStats"), instanceStats),
            ], new JsonObject { ["writes"] = input.ToFile });
        }
        var recent = await FetchExportAsync(scope, latest, ct).ConfigureAwait(false);
        var earlier = await FetchExportAsync(scope, BillingExportAgent.FetchCall(scope, "5m", DateTimeOffset.Parse(recent.WindowStart, CultureInfo.InvariantCulture)), ct).ConfigureAwait(false);
        var totals = new SortedDictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var export in new[] { earlier, recent })
        {
            foreach (var image in export.Json.GetProperty("images").EnumerateArray())
            {
                var name = image.GetProperty("image").GetString()!;
                if (input.Image is not null && name != input.Image)
                {
                    continue;
                }
                var sums = totals.TryGetValue(name, out var s) ? s : totals[name] = new long[4];
                sums[0] += image.GetProperty("req_count").GetInt64();
                sums[1] += image.GetProperty("bytes_tx").GetInt64();
                sums[2] += image.GetProperty("errors_4xx").GetInt64();
                sums[3] += image.GetProperty("errors_5xx").GetInt64();
            }
        }
        var rows = totals.Select(t => new JsonObject
        {
            ["image"] = t.Key,
            ["rps_avg"] = Math.Round(t.Value[0] / 600.0, 3),
            ["bytes_tx"] = t.Value[1],
            ["req_count"] = t.Value[0],
            ["errors_4xx"] = t.Value[2],
            ["errors_5xx"] = t.Value[3],
        }).ToList();
        var images = await scope.CallAsync(Rpcs.Stats("GetImageStats"), input.Image, (c, t) => c.Stats.GetImageStatsAsync(imageStats, t), ct).ConfigureAwait(false);
        var instances = await scope.CallAsync(Rpcs.Stats("GetInstanceStats"), input.Image, (c, t) => c.Stats.GetInstanceStatsAsync(instanceStats, t), ct).ConfigureAwait(false);
        var result = new JsonObject
        {
            ["window_start"] = earlier.WindowStart,
            ["window_end"] = recent.WindowEnd,
            ["note"] = "The stats API offers 1m, 5m and 1h windows, not 10m: the 10-minute totals are two consecutive 5-minute billing exports, which count every request exactly once; latency and per-instance figures are those of the last 5 minutes (stats window 5m).",
            ["images"] = new JsonArray([.. rows]),
            ["images_last_5m"] = new JsonArray([.. images.Images.Select(LbStatsAgent.Row)]),
            ["instances_last_5m"] = new JsonArray([.. instances.Instances.Select(LbStatsAgent.Row)]),
            ["exports"] = new JsonArray(new JsonObject { ["window_start"] = earlier.WindowStart, ["checksum"] = earlier.Checksum }, new JsonObject { ["window_start"] = recent.WindowStart, ["checksum"] = recent.Checksum }),
        };
        if (input.ToFile is { } file)
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(file))!;
            Directory.CreateDirectory(directory);
            await File.WriteAllTextAsync(file, scope.Runtime.Redactor.Redact(result.ToJsonString(new JsonSerializerOptions { WriteIndented = true })) + "\n", ct).ConfigureAwait(false);
            result["written_to"] = Path.GetFullPath(file);
        }
        var text = new StringBuilder($"last 10 minutes ({earlier.WindowStart} to {recent.WindowEnd}):{Environment.NewLine}");
        text.Append(TextTable.Render(["image", "rps_avg", "bytes_tx", "req_count", "errors_4xx", "errors_5xx"], rows));
        text.AppendLine().AppendLine("per instance, last 5 minutes:").Append(TextTable.Render(LbStatsAgent.InstanceColumns, result["instances_last_5m"]!.AsArray().Cast<JsonObject>()));
        text.AppendLine().AppendLine("note: " + result["note"]);
        if (result["written_to"] is { } written)
        {
            text.AppendLine($"written to {written}");
        }
        return scope.Ok(result, text.ToString());
    }

    private static async Task<ExportDocument> FetchExportAsync(ActionScope scope, HttpCall call, CancellationToken ct)
    {
        var answer = await scope.HttpAsync(call with { NoRetry = false }, ct).ConfigureAwait(false);
        if (!answer.IsSuccess)
        {
            throw new AgentFailure(answer.StatusCode == 503 ? AgentErrorCodes.NotReady : AgentErrorCodes.BackendUnreachable, $"POST {call.Url.PathAndQuery} answered {answer.StatusCode}: {answer.Text}");
        }
        try
        {
            return ExportDocument.Check(answer.Body, ContractSchema.BillingExport);
        }
        catch (FormatException ex)
        {
            throw new AgentFailure(AgentErrorCodes.ExportInvalid, ex.Message);
        }
    }
}

internal sealed record RefreshInput
{
    [Description("Only this image.")]
    public string? Image { get; init; }
}

internal sealed record FlipInput
{
    [Description("The image to route round_robin for now.")]
    [Length(1, 255)]
    public required string Image { get; init; }

    [Description("Why, recorded in the audit trail (default names the incident-bot and the trace id).")]
    [Length(0, 512)]
    public string? Reason { get; init; }
}

internal sealed record ExportStatsInput
{
    [Description("Only this image.")]
    public string? Image { get; init; }

    [Description("Also write the export (JSON) to this file.")]
    public string? ToFile { get; init; }
}
