using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using ControlPlane.Agents.Runtime;

namespace ControlPlane.Agents.Traffic;

/// <summary>
/// Synthetic load through a dataplane: <c>GET {dataplane}/g/{image}/{path}</c>, request k due at
/// start + k/rps (an open schedule: a slow answer does not slow the rate while a worker is free),
/// taken by N async workers. Each answer is recorded with its status, latency (client timing) and the
/// instance that served it (the backend's <c>X-Instance-Id</c> header, which the proxy passes on).
/// One attempt per request: the load generator counts failures, it does not hide them.
/// </summary>
internal sealed class LoadRun
{
    private readonly ConcurrentQueue<Sample> _samples = new();
    private long _sent;
    private long _ok;
    private long _failed;

    public required Uri Dataplane { get; init; }

    public required string Image { get; init; }

    public required string Path { get; init; }

    public required double Rps { get; init; }

    public required long Total { get; init; }

    public required int Workers { get; init; }

    public required string InstanceHeader { get; init; }

    public Uri Url => Urls.Combine(Dataplane, $"g/{Uri.EscapeDataString(Image)}/{Path.TrimStart('/')}");

    public HttpCall Call => new(HttpMethod.Get, Url) { NoRetry = true };

    public long Sent => Interlocked.Read(ref _sent);

    public long Succeeded => Interlocked.Read(ref _ok);

    public long Failed => Interlocked.Read(ref _failed);

    public IReadOnlyCollection<Sample> Samples => _samples;

    public async Task<LoadReport> RunAsync(ActionScope scope, TextWriter? progress, CancellationToken ct)
    {
        var time = scope.Time;
        var start = time.GetTimestamp();
        long next = -1;
        using var done = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var display = progress is null ? Task.CompletedTask : ShowProgressAsync(progress, time, start, done.Token);
        async Task WorkerAsync()
        {
            while (true)
            {
                var k = Interlocked.Increment(ref next);
                if (k >= Total)
                {
                    return;
                }
                var due = TimeSpan.FromSeconds(k / Rps) - time.GetElapsedTime(start);
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due, time, ct).ConfigureAwait(false);
                }
                await SendAsync(scope, k, ct).ConfigureAwait(false);
            }
        }
        var stopped = false;
        try
        {
            await Task.WhenAll(Enumerable.Range(0, Workers).Select(_ => Task.Run(WorkerAsync, CancellationToken.None))).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            stopped = true;
        }
        var elapsed = time.GetElapsedTime(start);
        await done.CancelAsync().ConfigureAwait(false);
        await display.ConfigureAwait(false);
        return new LoadReport(this, elapsed, stopped);
    }

    private async Task SendAsync(ActionScope scope, long k, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _sent);
        try
        {
            var answer = await scope.Runtime.Http.SendAsync(Call, $"{scope.TraceId}-{k}", ct).ConfigureAwait(false);
            if (answer.IsSuccess)
            {
                Interlocked.Increment(ref _ok);
            }
            else
            {
                Interlocked.Increment(ref _failed);
            }
            _samples.Enqueue(new Sample(answer.StatusCode.ToString(CultureInfo.InvariantCulture), Stopwatch.GetElapsedTime(started), answer.Header(InstanceHeader), Code: answer.IsSuccess ? null : ErrorCodeOf(answer)));
        }
        catch (AgentFailure ex)
        {
            Interlocked.Increment(ref _failed);
            _samples.Enqueue(new Sample("error", Stopwatch.GetElapsedTime(started), null, ex.Detail));
        }
    }

    /// <summary>The <c>error.code</c> of a JSON error answer (the dataplane's own, or an instance's in the same shape); null for any other body.</summary>
    private static string? ErrorCodeOf(HttpAnswer answer)
    {
        if (answer.Body.Length is 0 or > 64 * 1024 || answer.ContentHeaders.ContentType?.MediaType != "application/json")
        {
            return null;
        }
        try
        {
            using var json = System.Text.Json.JsonDocument.Parse(answer.Body);
            return json.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object
                && json.RootElement.TryGetProperty("error", out var error) && error.ValueKind == System.Text.Json.JsonValueKind.Object
                && error.TryGetProperty("code", out var code) && code.ValueKind == System.Text.Json.JsonValueKind.String
                ? code.GetString()
                : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private async Task ShowProgressAsync(TextWriter progress, TimeProvider time, long start, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), time, ct).ConfigureAwait(false);
                Render(progress, time.GetElapsedTime(start));
            }
        }
        catch (OperationCanceledException)
        {
            Render(progress, time.GetElapsedTime(start));
            await progress.WriteLineAsync().ConfigureAwait(false);
        }
    }

    private void Render(TextWriter progress, TimeSpan elapsed)
    {
        var latencies = _samples.Select(s => s.Latency.TotalMilliseconds).ToArray();
        Array.Sort(latencies);
        var p95 = LoadReport.Percentile(latencies, 0.95);
        progress.Write(string.Create(CultureInfo.InvariantCulture,
            $"\r[trafficgen] {Sent}/{Total} sent, {Succeeded} ok, {Failed} failed, {Sent / Math.Max(elapsed.TotalSeconds, 0.001):0.0} rps, p95 {p95:0.0} ms, {elapsed.TotalSeconds:0.0} s   "));
        progress.Flush();
    }
}

/// <summary>
/// One request's outcome: status ("200", "502", or "error": no answer), client-side latency, serving
/// instance; for "error" why, for an error answer its <c>error.code</c> when it had one.
/// </summary>
internal sealed record Sample(string Status, TimeSpan Latency, string? Instance, string? Error = null, string? Code = null);

/// <summary>What a load run measured.</summary>
internal sealed class LoadReport(LoadRun run, TimeSpan elapsed, bool stopped)
{
    public LoadRun Run => run;

    public TimeSpan Elapsed => elapsed;

    public bool Stopped => stopped;

    public IReadOnlyDictionary<string, long> ByInstance => run.Samples.Where(s => s.Status.StartsWith('2')).GroupBy(s => s.Instance ?? "(no instance header)")
        .ToDictionary(g => g.Key, g => (long)g.Count(), StringComparer.Ordinal);

    /// <summary>Nearest-rank percentile of sorted values (0 when there are none).</summary>
    public static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    /// <summary>
    /// The envelope's error code when every request failed: the code every error answer carried (the
    /// dataplane's <c>not_found</c>, <c>no_routable_endpoint</c>, <c>backend_unreachable</c> ...);
    /// <c>backend_unreachable</c> when nothing answered at all; <c>not_found</c> when every answer was a
    /// 404 without one (the instances' own); <c>requests_failed</c> for any other mix.
    /// </summary>
    public string FailureCode()
    {
        var failed = run.Samples.Where(s => !s.Status.StartsWith('2')).ToList();
        if (failed.All(s => s.Status == "error"))
        {
            return AgentErrorCodes.BackendUnreachable;
        }
        if (failed[0].Code is { } code && failed.All(s => s.Code == code))
        {
            return AgentErrorCodes.FromServer(code);
        }
        return failed.All(s => s.Status == "404") ? AgentErrorCodes.NotFound : AgentErrorCodes.RequestsFailed;
    }

    public JsonObject ToJson()
    {
        var latencies = run.Samples.Select(s => s.Latency.TotalMilliseconds).ToArray();
        Array.Sort(latencies);
        var ok = run.Samples.Count(s => s.Status.StartsWith('2'));
        var distribution = new JsonArray();
        foreach (var (instance, count) in ByInstance.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal))
        {
            distribution.Add(new JsonObject { ["instance"] = instance, ["count"] = count, ["share"] = ok == 0 ? 0 : Math.Round(count / (double)ok, 4) });
        }
        var statuses = new JsonObject();
        foreach (var group in run.Samples.GroupBy(s => s.Status).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            statuses[group.Key] = group.Count();
        }
        return new JsonObject
        {
            ["url"] = run.Url.ToString(),
            ["target_rps"] = run.Rps,
            ["planned"] = run.Total,
            ["workers"] = run.Workers,
            ["sent"] = run.Sent,
            ["ok"] = run.Succeeded,
            ["failed"] = run.Failed,
            ["stopped_early"] = stopped,
            ["elapsed_s"] = Math.Round(elapsed.TotalSeconds, 3),
            ["achieved_rps"] = Math.Round(run.Sent / Math.Max(elapsed.TotalSeconds, 0.001), 2),
            ["statuses"] = statuses,
            ["latency_ms"] = new JsonObject
            {
                ["p50"] = Math.Round(Percentile(latencies, 0.50), 3),
                ["p95"] = Math.Round(Percentile(latencies, 0.95), 3),
                ["p99"] = Math.Round(Percentile(latencies, 0.99), 3),
                ["max"] = Math.Round(latencies.Length == 0 ? 0 : latencies[^1], 3),
                ["mean"] = Math.Round(latencies.Length == 0 ? 0 : latencies.Average(), 3),
            },
            ["distribution"] = distribution,
            ["errors"] = new JsonArray([.. run.Samples.Where(s => s.Error is not null).Select(s => s.Error).Distinct().Take(5).Select(e => JsonValue.Create(e))]),
        };
    }
}
