using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text;
using System.Text.Json.Nodes;
using ControlPlane.Agents.Runtime;
using ControlPlane.Api.V1;

namespace ControlPlane.Agents.Stats;

/// <summary>
/// lb-stats-agent (platform-agents-spec §5.3): per-image (and per-instance) traffic for a window,
/// as a table, CSV or Markdown, optionally with the top N instances of one image, optionally posted
/// to the user channel.
/// </summary>
internal static class LbStatsAgent
{
    public static readonly AgentInfo Info = new("lb-stats-agent", "lb-stats", "Summarize RPS, bytes, errors and latency per image and instance for dashboards.");

    public static readonly string[] ImageColumns = ["image", "rps_avg", "bytes_tx", "req_count", "errors_4xx", "errors_5xx", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms"];

    public static readonly string[] InstanceColumns = ["image", "instance_id", "rps_avg", "bytes_tx", "req_count", "errors_4xx", "errors_5xx", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms"];

    public static IEnumerable<AgentAction> Actions() =>
    [
        AgentAction.Create<ImagesInput>(Info, "images",
            "Per-image stats for a window (1m, 5m, 1h): rps_avg, bytes_tx, req_count, errors_4xx, errors_5xx, latency percentiles; with image and top, also that image's top N instances by requests.",
            ImagesAsync, readOnly: true, target: i => i.Image),
        AgentAction.Create<InstancesInput>(Info, "instances",
            "The top N instances of an image by requests over a window.",
            InstancesAsync, readOnly: true, target: i => i.Image, aliases: ["top"], positionals: ["image"]),
    ];

    private static async Task<AgentEnvelope> ImagesAsync(ImagesInput input, ActionScope scope, CancellationToken ct)
    {
        if (input.Top is not null && input.Image is null)
        {
            throw new AgentFailure(AgentErrorCodes.InvalidRequest, "top needs an image: the top instances are those of one image");
        }
        var request = new GetImageStatsRequest { Window = input.Window, Image = input.Image ?? "" };
        var instancesRequest = new GetInstanceStatsRequest { Image = input.Image ?? "", Window = input.Window };
        if (scope.DryRun)
        {
            return scope.Planned([scope.Plan(Rpcs.Stats("GetImageStats"), request), .. input.Top is null ? Array.Empty<PlannedRequest>() : [scope.Plan(Rpcs.Stats("GetInstanceStats"), instancesRequest)]]);
        }
        var response = await scope.CallAsync(Rpcs.Stats("GetImageStats"), input.Image, (c, t) => c.Stats.GetImageStatsAsync(request, t), ct).ConfigureAwait(false);
        var rows = response.Images.Select(Row).ToList();
        var text = new StringBuilder(TextTable.Render(ImageColumns, rows, input.Format));
        var result = new JsonObject
        {
            ["window"] = response.Window,
            ["window_end"] = ProtoJson.Time(response.WindowEnd),
            ["images"] = new JsonArray([.. rows]),
        };
        if (input.Top is { } top)
        {
            var instances = await TopAsync(scope, instancesRequest, top, ct).ConfigureAwait(false);
            result["top_instances"] = new JsonArray([.. instances]);
            text.AppendLine().AppendLine($"top {top} instances of {input.Image}:").Append(TextTable.Render(InstanceColumns, instances, input.Format));
        }
        result["formatted"] = text.ToString();
        await PostAsync(scope, input.Post, $"lb-stats {response.Window}", text.ToString(), ct).ConfigureAwait(false);
        return scope.Ok(result, text.ToString());
    }

    private static async Task<AgentEnvelope> InstancesAsync(InstancesInput input, ActionScope scope, CancellationToken ct)
    {
        var request = new GetInstanceStatsRequest { Image = input.Image, Window = input.Window };
        if (scope.DryRun)
        {
            return scope.Planned([scope.Plan(Rpcs.Stats("GetInstanceStats"), request)]);
        }
        var rows = await TopAsync(scope, request, input.Top, ct).ConfigureAwait(false);
        var text = TextTable.Render(InstanceColumns, rows, input.Format);
        var result = new JsonObject { ["image"] = input.Image, ["window"] = input.Window, ["top"] = input.Top, ["instances"] = new JsonArray([.. rows]), ["formatted"] = text };
        await PostAsync(scope, input.Post, $"lb-stats {input.Window} top {input.Top} instances of {input.Image}", text, ct).ConfigureAwait(false);
        return scope.Ok(result, text);
    }

    /// <summary>The image's instances with the most requests in the window, most first (ties by id).</summary>
    internal static async Task<List<JsonObject>> TopAsync(ActionScope scope, GetInstanceStatsRequest request, int top, CancellationToken ct)
    {
        var response = await scope.CallAsync(Rpcs.Stats("GetInstanceStats"), request.Image, (c, t) => c.Stats.GetInstanceStatsAsync(request, t), ct).ConfigureAwait(false);
        return [.. response.Instances.OrderByDescending(i => i.ReqCount).ThenBy(i => i.InstanceId, StringComparer.Ordinal).Take(top).Select(Row)];
    }

    private static async Task PostAsync(ActionScope scope, bool post, string title, string table, CancellationToken ct)
    {
        if (post)
        {
            await scope.PostToChannelAsync("report", title + Environment.NewLine + table, null, ct).ConfigureAwait(false);
        }
    }

    public static JsonObject Row(ImageStats s) => new()
    {
        ["image"] = s.Image,
        ["rps_avg"] = Math.Round(s.RpsAvg, 3),
        ["bytes_tx"] = s.BytesTx,
        ["req_count"] = s.ReqCount,
        ["errors_4xx"] = s.Errors4Xx,
        ["errors_5xx"] = s.Errors5Xx,
        ["latency_p50_ms"] = Math.Round(s.LatencyP50Ms, 3),
        ["latency_p95_ms"] = Math.Round(s.LatencyP95Ms, 3),
        ["latency_p99_ms"] = Math.Round(s.LatencyP99Ms, 3),
    };

    public static JsonObject Row(InstanceStats s) => new()
    {
        ["image"] = s.Image,
        ["instance_id"] = s.InstanceId,
        ["rps_avg"] = Math.Round(s.RpsAvg, 3),
        ["bytes_tx"] = s.BytesTx,
        ["req_count"] = s.ReqCount,
        ["errors_4xx"] = s.Errors4Xx,
        ["errors_5xx"] = s.Errors5Xx,
        ["latency_p50_ms"] = Math.Round(s.LatencyP50Ms, 3),
        ["latency_p95_ms"] = Math.Round(s.LatencyP95Ms, 3),
        ["latency_p99_ms"] = Math.Round(s.LatencyP99Ms, 3),
    };
}

internal sealed record ImagesInput
{
    [Description("The window: 1m, 5m or 1h (what the stats API offers).")]
    [AllowedValues("1m", "5m", "1h")]
    public string Window { get; init; } = "1m";

    [Description("Only this image.")]
    public string? Image { get; init; }

    [Description("Also list this many of the image's instances, most requests first (needs image).")]
    [Range(1, 1000)]
    public int? Top { get; init; }

    [Description("table, csv or markdown.")]
    [AllowedValues(TextTable.Table, TextTable.Csv, TextTable.Markdown)]
    public string Format { get; init; } = TextTable.Table;

    [Description("Post the formatted table to the user channel (AGENT_USER_CHANNEL).")]
    public bool Post { get; init; }
}

internal sealed record InstancesInput
{
    [Description("The image whose instances are ranked.")]
    [Length(1, 255)]
    public required string Image { get; init; }

    [Description("The window: 1m, 5m or 1h.")]
    [AllowedValues("1m", "5m", "1h")]
    public string Window { get; init; } = "1m";

    [Description("How many instances, most requests first (default 10).")]
    [Range(1, 1000)]
    public int Top { get; init; } = 10;

    [Description("table, csv or markdown.")]
    [AllowedValues(TextTable.Table, TextTable.Csv, TextTable.Markdown)]
    public string Format { get; init; } = TextTable.Table;

    [Description("Post the formatted table to the user channel (AGENT_USER_CHANNEL).")]
    public bool Post { get; init; }
}
