using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text.Json.Nodes;
using ControlPlane.Agents.Runtime;
using ControlPlane.Sdk;

namespace ControlPlane.Agents.Billing;

/// <summary>
/// billing-export-agent (platform-agents-spec §5.4): <c>POST {AGENT_LB_BASE}/v1/billing/export</c>,
/// validated against contracts/lb_billing_export.schema.json and its own checksum, shipped to a
/// directory or an HTTP endpoint with a sha256 file and a latest.json pointer. Once, or hourly at
/// :05 (the hour that just ended: end_time on the hour, so consecutive exports bill every request
/// exactly once). A failed attempt (export, validation or shipping) is retried 3 times with
/// exponential backoff (the SDK's <see cref="ExponentialBackoff"/>), then an alert goes to the user channel.
/// </summary>
internal static class BillingExportAgent
{
    public static readonly AgentInfo Info = new("billing-export-agent", "billing", "Produce hourly usage exports for billing (Team 4), validated and checksummed.");

    /// <summary>The schedule's minute past each hour (§5.4: hourly at :05).</summary>
    public static readonly TimeSpan ScheduleOffset = TimeSpan.FromMinutes(5);

    public static IEnumerable<AgentAction> Actions() =>
    [
        AgentAction.Create<ExportInput>(Info, "export",
            "Exports usage per image (POST /v1/billing/export), validates it against contracts/lb_billing_export.schema.json and its checksum, ships it to a directory or an HTTP endpoint with a sha256 file and a latest.json pointer; once, or with schedule every hour at :05. Retries 3 times with exponential backoff, then alerts the user channel.",
            ExportAsync, target: i => i.ToDir ?? i.ToUrl),
    ];

    private static async Task<AgentEnvelope> ExportAsync(ExportInput input, ActionScope scope, CancellationToken ct)
    {
        if ((input.ToDir is null) == (input.ToUrl is null))
        {
            throw new AgentFailure(AgentErrorCodes.InvalidRequest, "give exactly one destination: to_dir or to_url");
        }
        var url = input.ToUrl is null ? null : Uri.TryCreate(input.ToUrl, UriKind.Absolute, out var u) && u.Scheme is "http" or "https" ? u
            : throw new AgentFailure(AgentErrorCodes.InvalidRequest, $"to_url '{input.ToUrl}' is not an absolute http(s) URL");
        if (input.Schedule && input.EndTime is not null)
        {
            throw new AgentFailure(AgentErrorCodes.InvalidRequest, "end_time is for a single export; a schedule exports each hour that just ended");
        }
        if (!input.Schedule && input.Runs is not null)
        {
            throw new AgentFailure(AgentErrorCodes.InvalidRequest, "runs counts scheduled exports: add schedule");
        }
        DateTimeOffset? endTime = input.EndTime is null ? null
            : DateTimeOffset.TryParse(input.EndTime, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var e) ? e.ToUniversalTime()
            : throw new AgentFailure(AgentErrorCodes.InvalidRequest, $"end_time '{input.EndTime}' is not an RFC 3339 time");
        if (endTime > scope.Time.GetUtcNow())
        {
            // The server refuses a window that has not ended yet: say so before sending anything.
            throw new AgentFailure(AgentErrorCodes.InvalidRequest, $"end_time {endTime:yyyy-MM-ddTHH:mm:ssZ} is in the future: only a window that has ended can be exported");
        }

        if (scope.DryRun)
        {
            var planEnd = input.Schedule ? NextRun(scope.Time.GetUtcNow()) - ScheduleOffset : endTime;
            var fetch = FetchCall(scope, input.Window, planEnd);
            var plan = new List<PlannedRequest> { scope.Plan(fetch, note: input.Schedule ? $"first run at {NextRun(scope.Time.GetUtcNow()):yyyy-MM-ddTHH:mm:ssZ}, then hourly at :05" : "then validated against the contract and its checksum") };
            if (url is not null)
            {
                plan.Add(new PlannedRequest("http", "POST", url.ToString(), new JsonObject { ["X-Request-ID"] = scope.TraceId, ["Idempotency-Key"] = "(the export's checksum)" }, JsonValue.Create("(the export, byte for byte)")));
            }
            return scope.Planned(plan, new JsonObject { ["writes"] = input.ToDir ?? input.PointerDir });
        }

        if (!input.Schedule)
        {
            var outcome = await ExportWithRetriesAsync(input, url, endTime, scope, ct).ConfigureAwait(false);
            return outcome.Error is null
                ? scope.Ok(outcome.Result, Describe(outcome.Result))
                : scope.Fail(outcome.Error.Code, outcome.Error.Detail, outcome.Result);
        }

        var runs = new JsonArray();
        var failures = 0;
        try
        {
            while (input.Runs is null || runs.Count < input.Runs)
            {
                var next = NextRun(scope.Time.GetUtcNow());
                scope.Info("next export", ("at", next));
                var wait = next - scope.Time.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, scope.Time, ct).ConfigureAwait(false);
                }
                var outcome = await ExportWithRetriesAsync(input, url, next - ScheduleOffset, scope, ct).ConfigureAwait(false);
                failures += outcome.Error is null ? 0 : 1;
                var run = outcome.Result;
                run["error"] = outcome.Error is null ? null : new JsonObject { ["code"] = outcome.Error.Code, ["detail"] = outcome.Error.Detail };
                runs.Add(run);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopping the schedule is its normal end: report the runs made.
        }
        var result = new JsonObject { ["schedule"] = "hourly at :05", ["runs"] = runs, ["failed_runs"] = failures };
        var text = $"{runs.Count} scheduled export{(runs.Count == 1 ? "" : "s")}, {failures} failed{Environment.NewLine}";
        return failures == 0 || runs.Count > failures
            ? scope.Ok(result, text)
            : scope.Fail(AgentErrorCodes.ExportFailed, $"every scheduled export failed ({failures})", result, text);
    }

    /// <summary>The next :05 at or after <paramref name="now"/>.</summary>
    public static DateTimeOffset NextRun(DateTimeOffset now)
    {
        var hour = new DateTimeOffset(now.UtcDateTime.Year, now.UtcDateTime.Month, now.UtcDateTime.Day, now.UtcDateTime.Hour, 0, 0, TimeSpan.Zero);
        var run = hour + ScheduleOffset;
        return run >= now ? run : run.AddHours(1);
    }

    private static async Task<(JsonObject Result, AgentError? Error)> ExportWithRetriesAsync(ExportInput input, Uri? url, DateTimeOffset? endTime, ActionScope scope, CancellationToken ct)
    {
        var backoff = new ExponentialBackoff(TimeSpan.FromSeconds(input.RetryBaseS), TimeSpan.FromMinutes(5), scope.Runtime.Random);
        var attempts = new JsonArray();
        string? lastCode = null;
        for (var attempt = 1; attempt <= input.Retries + 1; attempt++)
        {
            try
            {
                var result = await ExportOnceAsync(input, url, endTime, scope, ct).ConfigureAwait(false);
                result["attempts"] = attempt;
                return (result, null);
            }
            catch (Exception ex) when (ex is AgentFailure or FormatException)
            {
                lastCode = ex is FormatException ? AgentErrorCodes.ExportInvalid : ((AgentFailure)ex).Code;
                attempts.Add(new JsonObject { ["attempt"] = attempt, ["code"] = lastCode, ["detail"] = ex.Message });
                scope.Warn("export attempt failed", ("attempt", attempt), ("code", lastCode), ("detail", ex.Message));
                if (ex is AgentFailure { Deterministic: true } final)
                {
                    // A 4xx answer or a directory that cannot be written fails the same way every time: no retries.
                    var reason = $"the billing export{(endTime is null ? "" : $" ending {endTime:yyyy-MM-ddTHH:mm:ssZ}")} failed (not retried: it would fail the same way): {final.Detail}";
                    var alertedOnce = input.Schedule && await scope.PostToChannelAsync("alert", "billing-export-agent: " + reason, new JsonObject { ["attempts"] = attempts.DeepClone() }, ct).ConfigureAwait(false);
                    var result = new JsonObject { ["end_time"] = endTime?.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture), ["attempts"] = attempts, ["alerted"] = alertedOnce };
                    return (result, new AgentError(final.Code, reason));
                }
                if (attempt <= input.Retries)
                {
                    await Task.Delay(backoff.Next(), scope.Time, ct).ConfigureAwait(false);
                }
            }
        }
        var detail = $"the billing export{(endTime is null ? "" : $" ending {endTime:yyyy-MM-ddTHH:mm:ssZ}")} failed {Times(input.Retries + 1)}; last: {attempts[^1]!["detail"]}";
        var alerted = await scope.PostToChannelAsync("alert", "billing-export-agent: " + detail, new JsonObject { ["attempts"] = attempts.DeepClone() }, ct).ConfigureAwait(false);
        var failed = new JsonObject { ["end_time"] = endTime?.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture), ["attempts"] = attempts, ["alerted"] = alerted };
        return (failed, new AgentError(lastCode == AgentErrorCodes.ExportInvalid ? AgentErrorCodes.ExportInvalid : AgentErrorCodes.ExportFailed, detail));
    }

    private static async Task<JsonObject> ExportOnceAsync(ExportInput input, Uri? url, DateTimeOffset? endTime, ActionScope scope, CancellationToken ct)
    {
        var answer = await scope.HttpAsync(FetchCall(scope, input.Window, endTime), ct).ConfigureAwait(false);
        if (!answer.IsSuccess)
        {
            throw new AgentFailure(answer.StatusCode == 503 ? AgentErrorCodes.NotReady : AgentErrorCodes.ExportFailed, $"POST /v1/billing/export answered {answer.StatusCode}: {Truncate(answer.Text)}")
            {
                Deterministic = IsDeterministic(answer.StatusCode),
            };
        }
        var export = ExportDocument.Check(answer.Body, ContractSchema.BillingExport);
        JsonObject pointer;
        if (url is not null)
        {
            var shipped = await scope.HttpAsync(ExportShipping.ToUrl(export, url), ct).ConfigureAwait(false);
            if (!shipped.IsSuccess)
            {
                throw new AgentFailure(AgentErrorCodes.ExportFailed, $"the billing endpoint {url} answered {shipped.StatusCode}: {Truncate(shipped.Text)}")
                {
                    Deterministic = IsDeterministic(shipped.StatusCode),
                };
            }
            pointer = input.PointerDir is null ? ExportShipping.Pointer(export, url.ToString()) : ToDirectory(export, input.PointerDir, withExport: false);
            pointer["location"] = url.ToString();
        }
        else
        {
            pointer = ToDirectory(export, input.ToDir!, withExport: true);
        }
        scope.Info("exported", ("window_end", export.WindowEnd), ("images", export.Images), ("sha256", export.FileSha256));
        return new JsonObject
        {
            ["window"] = export.Window,
            ["window_start"] = export.WindowStart,
            ["window_end"] = export.WindowEnd,
            ["generated_at"] = export.GeneratedAt,
            ["images"] = export.Images,
            ["req_count"] = export.Requests,
            ["checksum"] = export.Checksum,
            ["sha256"] = export.FileSha256,
            ["shipped_to"] = url?.ToString() ?? Path.Combine(input.ToDir!, ExportShipping.FileName(export)),
            ["pointer"] = pointer,
            ["pointer_file"] = (input.ToDir ?? input.PointerDir) is { } dir ? Path.Combine(dir, ExportShipping.PointerFile) : null,
        };
    }

    /// <summary>The export request; no side effects (billing.proto: NO_SIDE_EFFECTS), retried by the agent's own loop.</summary>
    internal static HttpCall FetchCall(ActionScope scope, string window, DateTimeOffset? endTime)
    {
        var query = $"v1/billing/export?window={window}" + (endTime is { } end ? "&end_time=" + Uri.EscapeDataString(end.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)) : "");
        return new HttpCall(HttpMethod.Post, Urls.Combine(scope.Options.LbBase, query)) { SafeToRepeat = true, NoRetry = true };
    }

    private static string Describe(JsonObject result) =>
        $"exported {result["window"]} ending {result["window_end"]}: {result["images"]} images, {result["req_count"]} requests{Environment.NewLine}" +
        $"  shipped to {result["shipped_to"]}{Environment.NewLine}  sha256 {result["sha256"]}, checksum {result["checksum"]}{Environment.NewLine}" +
        (result["pointer_file"] is { } p ? $"  pointer {p}{Environment.NewLine}" : "");

    /// <summary>A 4xx answer other than 408 (timeout) and 429 (too many requests) is the same on every attempt.</summary>
    private static bool IsDeterministic(int status) => status is >= 400 and < 500 and not 408 and not 429;

    private static string Times(int n) => n == 1 ? "once" : $"{n} times";

    /// <summary>Writes to <paramref name="directory"/>; a directory that cannot be written is named, and not retried.</summary>
    private static JsonObject ToDirectory(ExportDocument export, string directory, bool withExport)
    {
        try
        {
            return ExportShipping.ToDirectory(export, directory, withExport);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new AgentFailure(AgentErrorCodes.ExportFailed, $"cannot write the export to the directory {directory}: {ex.Message}") { Deterministic = true };
        }
    }

    private static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "...";
}

internal sealed record ExportInput
{
    [Description("The window: 1m, 5m or 1h (default 1h, the reference's hourly export).")]
    [AllowedValues("1m", "5m", "1h")]
    public string Window { get; init; } = "1h";

    [Description("End of the window (RFC 3339, e.g. 2026-01-01T10:00:00Z) for one export of a past window; default now.")]
    public string? EndTime { get; init; }

    [Description("Export every hour at :05 (the hour that just ended) until stopped or runs are done.")]
    public bool Schedule { get; init; }

    [Description("With schedule: stop after this many exports (default: until stopped).")]
    [Range(1, 100_000)]
    public int? Runs { get; init; }

    [Description("Ship to this directory: the export, its .sha256 file and latest.json.")]
    public string? ToDir { get; init; }

    [Description("Ship to this HTTP endpoint (POST of the export).")]
    public string? ToUrl { get; init; }

    [Description("With to_url: also write the .sha256 file and latest.json pointer here.")]
    public string? PointerDir { get; init; }

    [Description("Retries after a failed attempt (default 3), then an alert.")]
    [Range(0, 10)]
    public int Retries { get; init; } = 3;

    [Description("First backoff bound in seconds (default 2), doubling each retry, full jitter.")]
    [Range(0.001, 300)]
    public double RetryBaseS { get; init; } = 2;
}
