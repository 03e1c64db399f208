using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Xunit;

namespace ControlPlane.TestCommon;

/// <summary>
/// A real Prometheus server (Debian's /usr/bin/prometheus), scraping one target every second, on a
/// free loopback port with its TSDB in a temporary folder; stopped and deleted on dispose.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    public const string Binary = "/usr/bin/prometheus";

    private readonly Process _process;
    private readonly string _directory;
    private readonly HttpClient _http;

    private PrometheusServer(Process process, string directory, Uri address)
    {
        _process = process;
        _directory = directory;
        _http = new HttpClient { BaseAddress = address };
    }

    public static async Task<PrometheusServer> StartAsync(Uri target, string job)
    {
        var directory = Directory.CreateTempSubdirectory("prometheus-test-").FullName;
        var config = Path.Combine(directory, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: {job}
                metrics_path: /metrics
                static_configs:
                  - targets: ['{target.Authority}']
            """).DefaultTimeout();
        var address = new Uri($"http://127.0.0.1:{Processes.FreePorts.Next()}/");
        var start = new ProcessStartInfo(Binary)
        {
            ArgumentList =
            {
                "--config.file=" + config,
                "--storage.tsdb.path=" + Path.Combine(directory, "data"),
                "--web.listen-address=" + address.Authority,
                "--log.level=warn",
                "--storage.tsdb.retention.time=1h",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("prometheus did not start");
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { log.Enqueue(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { log.Enqueue(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new PrometheusServer(process, directory, address);
        try
        {
            await PollAsync(async () =>
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException("prometheus exited: " + string.Join(Environment.NewLine, log));
                }
                try
                {
                    using var ready = await server._http.GetAsync("-/ready");
                    return ready.IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false; // not listening yet
                }
            }, "Prometheus ready");
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    /// <summary>Waits until the job's target has been scraped successfully, and returns it (GET /api/v1/targets).</summary>
    public async Task<JsonElement> WaitForHealthyTargetAsync(string job)
    {
        JsonElement target = default;
        await PollAsync(async () =>
        {
            using var doc = JsonDocument.Parse(await _http.GetStringAsync("api/v1/targets"));
            foreach (var t in doc.RootElement.GetProperty("data").GetProperty("activeTargets").EnumerateArray())
            {
                if (t.GetProperty("labels").GetProperty("job").GetString() == job
                    && t.GetProperty("health").GetString() == "up"
                    && t.GetProperty("lastError").GetString() == "")
                {
                    target = t.Clone();
                    return true;
                }
            }
            return false;
        }, $"target '{job}' up");
        return target;
    }

    /// <summary>Polls an instant query (GET /api/v1/query) until it returns one sample accepted by <paramref name="accept"/>.</summary>
    public async Task<double> WaitForValueAsync(string query, Func<double, bool> accept)
    {
        double value = double.NaN;
        await PollAsync(async () =>
        {
            var result = await QueryAsync(query);
            if (result.Length == 1 && accept(result[0]))
            {
                value = result[0];
                return true;
            }
            return false;
        }, $"query '{query}'");
        return value;
    }

    public async Task<double[]> QueryAsync(string query) =>
        (await QuerySeriesAsync(query)).Select(s => s.Value).ToArray();

    /// <summary>An instant query's vector: each sample's labels (as Prometheus parsed them) and value.</summary>
    public async Task<(Dictionary<string, string> Labels, double Value)[]> QuerySeriesAsync(string query)
    {
        using var doc = JsonDocument.Parse(await _http.GetStringAsync("api/v1/query?query=" + Uri.EscapeDataString(query)));
        Assert.Equal("success", doc.RootElement.GetProperty("status").GetString());
        return doc.RootElement.GetProperty("data").GetProperty("result").EnumerateArray()
            .Select(r => (
                r.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
                double.Parse(r.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture)))
            .ToArray();
    }

    /// <summary>Prometheus's own metrics (its /metrics), as name-with-labels → value.</summary>
    public async Task<Dictionary<string, double>> OwnMetricsAsync()
    {
        var text = await _http.GetStringAsync("metrics");
        return text.Split('\n')
            .Where(l => l.Length > 0 && l[0] != '#')
            .Select(l => (Key: l[..l.LastIndexOf(' ')], Value: l[(l.LastIndexOf(' ') + 1)..]))
            .ToDictionary(p => p.Key, p => double.Parse(p.Value, CultureInfo.InvariantCulture));
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().DefaultTimeout();
        }
        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>Polls an external process's HTTP API until <paramref name="condition"/> holds, within the default test timeout.</summary>
    private static async Task PollAsync(Func<Task<bool>> condition, string what)
    {
        using var deadline = new CancellationTokenSource(TaskTimeoutExtensions.Timeout);
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            while (!await condition().WaitAsync(deadline.Token))
            {
                await tick.WaitForNextTickAsync(deadline.Token);
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new TimeoutException($"Timed out after {TaskTimeoutExtensions.Timeout} waiting for {what}.");
        }
    }

}
