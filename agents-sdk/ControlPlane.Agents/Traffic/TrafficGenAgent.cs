using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text;
using System.Text.Json.Nodes;
using ControlPlane.Agents.Runtime;
using ControlPlane.Agents.Stats;
using ControlPlane.Api.V1;

namespace ControlPlane.Agents.Traffic;

/// <summary>
/// trafficgen-agent (platform-agents-spec §5.6, dev only): N async workers send GET
/// /g/{image}/{path} through a dataplane at a target rate for a duration, with live progress; polls
/// the image's stats meanwhile; reports the distribution per serving instance and p50/p95/p99.
/// Guard: when the environment is production (AGENT_ENV=production or --env production), it refuses
/// unless allow_prod is given, and then still needs approval.
/// </summary>
internal static class TrafficGenAgent
{
    public static readonly AgentInfo Info = new("trafficgen-agent", "trafficgen", "Generate synthetic load through a dataplane for smoke tests (dev only).");

    public static IEnumerable<AgentAction> Actions() =>
    [
        AgentAction.Create<TrafficInput>(Info, "run",
            "Sends GET /g/{image}/{path} through a dataplane from N async workers at rps for duration_s; reports requests per serving instance (X-Instance-Id) and p50/p95/p99 latency, and polls the image's stats meanwhile. Refused in production unless allow_prod and approval.",
            RunAsync, ApprovalRule.Conditional, target: i => i.Image, positionals: ["image"]),
    ];

    private static async Task<AgentEnvelope> RunAsync(TrafficInput input, ActionScope scope, CancellationToken ct)
    {
        var dataplane = Dataplane(scope, input.Dataplane);
        var total = Math.Max(1, (long)Math.Round(input.Rps * input.DurationS));
        if (total > 1_000_000)
        {
            throw new AgentFailure(AgentErrorCodes.InvalidRequest, $"rps x duration_s is {total} requests; at most 1,000,000 per run");
        }
        var run = new LoadRun
        {
            Dataplane = dataplane,
            Image = input.Image,
            Path = input.Path,
            Rps = input.Rps,
            Total = total,
            Workers = input.Workers ?? (int)Math.Clamp(Math.Ceiling(input.Rps / 10), 2, 64),
            InstanceHeader = input.InstanceHeader,
        };
        var statsRequest = new GetImageStatsRequest { Window = "1m", Image = input.Image };
        if (scope.Options.IsProduction && !input.AllowProd)
        {
            throw new AgentFailure(AgentErrorCodes.ProductionRefused,
                $"the environment is {scope.Options.Environment}: trafficgen is for development; give allow_prod (--allow-prod) and approval to send {total} requests to {input.Image} anyway");
        }
        if (scope.DryRun)
        {
            return scope.Planned([
                scope.Plan(run.Call, note: $"x{total}: {input.Rps} per second for {input.DurationS} s from {run.Workers} workers"),
                scope.Plan(Rpcs.Stats("GetImageStats"), statsRequest, $"every {input.PollStatsS} s during the run"),
            ]);
        }
        scope.RequireApproval(scope.Options.IsProduction, $"sending {total} requests to {input.Image} in {scope.Options.Environment}");

        using var polling = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var snapshots = new JsonArray();
        var poller = input.PollStatsS > 0 ? PollStatsAsync(scope, statsRequest, TimeSpan.FromSeconds(input.PollStatsS), snapshots, polling.Token) : Task.CompletedTask;
        var report = await run.RunAsync(scope, scope.Context.Progress, ct).ConfigureAwait(false);
        await polling.CancelAsync().ConfigureAwait(false);
        await poller.ConfigureAwait(false);

        var result = report.ToJson();
        result["image"] = input.Image;
        result["stats_snapshots"] = snapshots;
        var text = Describe(result);
        return report.Run.Sent > 0 && report.Run.Failed == report.Run.Sent
            ? scope.Fail(report.FailureCode(), $"all {report.Run.Sent} requests to {run.Url} failed; statuses {result["statuses"]!.ToJsonString()}", result, text)
            : scope.Ok(result, text);
    }

    internal static Uri Dataplane(ActionScope scope, string? given)
    {
        if (given is null)
        {
            return scope.Options.Dataplanes.Count > 0 ? scope.Options.Dataplanes[0]
                : throw new AgentFailure(AgentErrorCodes.ConfigInvalid, "no dataplane: set AGENT_DATAPLANES or --dataplane");
        }
        try
        {
            return AgentOptions.ParseUri("dataplane", given);
        }
        catch (ArgumentException ex)
        {
            throw new AgentFailure(AgentErrorCodes.InvalidRequest, ex.Message);
        }
    }

    private static async Task PollStatsAsync(ActionScope scope, GetImageStatsRequest request, TimeSpan every, JsonArray snapshots, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                await Task.Delay(every, scope.Time, ct).ConfigureAwait(false);
                var stats = await scope.CallAsync(Rpcs.Stats("GetImageStats"), request.Image, (c, t) => c.Stats.GetImageStatsAsync(request, t), ct).ConfigureAwait(false);
                var row = stats.Images.FirstOrDefault(i => i.Image == request.Image) is { } image ? LbStatsAgent.Row(image) : new JsonObject { ["image"] = request.Image, ["req_count"] = 0 };
                row["at"] = ProtoJson.Time(stats.WindowEnd);
                lock (snapshots)
                {
                    snapshots.Add(row);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // the run is over
        }
        catch (ControlPlane.Sdk.ControlPlaneException ex)
        {
            // The stats are context; the run's own measurements stand without them.
            scope.Warn("stats poll failed", ("code", ex.ErrorCode), ("detail", ex.Detail));
        }
    }

    private static string Describe(JsonObject result)
    {
        var text = new StringBuilder();
        var latency = result["latency_ms"]!;
        if (result["stopped_early"] is JsonValue stopped && stopped.GetValue<bool>())
        {
            text.AppendLine($"stopped early (interrupted): {result["sent"]} of {result["planned"]} planned requests sent");
        }
        text.AppendLine($"{result["sent"]} requests to {result["url"]} in {result["elapsed_s"]} s ({result["achieved_rps"]} rps): {result["ok"]} ok, {result["failed"]} failed; statuses {result["statuses"]!.ToJsonString()}");
        text.AppendLine($"latency ms: p50 {latency["p50"]}, p95 {latency["p95"]}, p99 {latency["p99"]}, max {latency["max"]}");
        text.AppendLine("distribution per instance:");
        text.Append(TextTable.Render(["instance", "count", "share"], result["distribution"]!.AsArray().Cast<JsonObject>()));
        return text.ToString();
    }
}

internal sealed record TrafficInput
{
    [Description("The image to send traffic to, e.g. img.video.svc.")]
    [Length(1, 255)]
    public required string Image { get; init; }

    [Description("The path after /g/{image}, e.g. /api/health (default /).")]
    public string Path { get; init; } = "/";

    [Description("Target requests per second (default 50).")]
    [Range(0.1, 10_000)]
    public double Rps { get; init; } = 50;

    [Description("How long, in seconds (default 60).")]
    [Range(0.1, 3600)]
    public double DurationS { get; init; } = 60;

    [Description("Concurrent async workers (default rps/10, 2-64).")]
    [Range(1, 1024)]
    public int? Workers { get; init; }

    [Description("The dataplane base URL (default the first of AGENT_DATAPLANES).")]
    public string? Dataplane { get; init; }

    [Description("Response header naming the instance that served a request (default X-Instance-Id, what the platform's backends send).")]
    public string InstanceHeader { get; init; } = "X-Instance-Id";

    [Description("Poll the image's 1m stats every this many seconds during the run (default 10; 0 = never).")]
    [Range(0, 3600)]
    public double PollStatsS { get; init; } = 10;

    [Description("Allow a production environment (AGENT_ENV=production); approval is then still needed.")]
    public bool AllowProd { get; init; }
}
