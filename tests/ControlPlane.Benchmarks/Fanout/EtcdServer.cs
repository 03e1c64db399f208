using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using ControlPlane.Benchmarks.Processes;

namespace ControlPlane.Benchmarks.Fanout;

/// <summary>
/// A one-member etcd (Debian package etcd-server) started from the installed binary on free loopback
/// client and peer ports, with a fresh data directory and error-level logging; stopped, and its data
/// directory deleted, on dispose, on Ctrl-C (through the benchmark's cancellation) and at process exit.
/// </summary>
internal sealed partial class EtcdServer : IAsyncDisposable
{
    private const string Executable = "etcd";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly string _dataDir;
    private readonly LogTail _log = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly EventHandler _onExit;
    private int _disposed;

    private EtcdServer(Process process, string dataDir, int clientPort)
    {
        _process = process;
        _dataDir = dataDir;
        ClientPort = clientPort;
        ClientUrl = new Uri($"http://127.0.0.1:{clientPort}");
        _onExit = (_, _) => Stop();
        AppDomain.CurrentDomain.ProcessExit += _onExit;
    }

    /// <summary>The h2c address of its gRPC services (and HTTP/1.1 /health, /metrics on the same port).</summary>
    public Uri ClientUrl { get; }

    public int ClientPort { get; }

    public int ProcessId => _process.Id;

    /// <summary>Where its data lives: on tmpfs when /dev/shm exists, so that the WAL's fsync on each Put does not measure the disk.</summary>
    public string DataDir => _dataDir;

    public static bool DataOnTmpfs => Directory.Exists("/dev/shm");

    /// <summary>"3.4.23", or null when etcd is not installed.</summary>
    public static async Task<string?> VersionAsync(CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(Executable, "--version")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        try
        {
            using var process = Process.Start(start)!;
            var output = await process.StandardOutput.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            var match = VersionLine().Match(output);
            return match.Success ? match.Groups["version"].Value : null;
        }
        catch (Win32Exception)
        {
            return null;
        }
    }

    /// <summary>Starts etcd and waits until it reports healthy.</summary>
    public static async Task<EtcdServer> StartAsync(CancellationToken cancellationToken)
    {
        var root = DataOnTmpfs ? "/dev/shm" : Path.GetTempPath();
        var dataDir = Path.Combine(root, "controlplane-fanout-etcd-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDir);
        int clientPort = FreePort(), peerPort = FreePort();
        var client = $"http://127.0.0.1:{clientPort}";
        var peer = $"http://127.0.0.1:{peerPort}";
        var start = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "--name", "fanout",
            "--data-dir", dataDir,
            "--listen-client-urls", client,
            "--advertise-client-urls", client,
            "--listen-peer-urls", peer,
            "--initial-advertise-peer-urls", peer,
            "--initial-cluster", "fanout=" + peer,
            "--initial-cluster-state", "new",
            "--logger", "zap",
            "--log-outputs", "stderr",
            "--log-level", "error",
        })
        {
            start.ArgumentList.Add(arg);
        }
        // ETCD_* variables in the caller's environment would add settings to these.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("ETCD_", StringComparison.Ordinal)).ToArray())
        {
            start.Environment.Remove(name);
        }
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("Could not start etcd.");
        }
        catch (Win32Exception ex)
        {
            Directory.Delete(dataDir, recursive: true);
            throw new InvalidOperationException("etcd is not installed: apt-get install etcd-server.", ex);
        }
        var server = new EtcdServer(process, dataDir, clientPort);
        process.OutputDataReceived += (_, e) => server._log.Add(e.Data);
        process.ErrorDataReceived += (_, e) => server._log.Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await server.WaitHealthyAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Its resident set size (VmRSS), in bytes.</summary>
    public long ResidentBytes() => ProcFs.ResidentBytes(_process.Id);

    /// <summary>
    /// The Go runtime's own view from etcd's /metrics: heap spans in use plus goroutine stacks in use,
    /// in bytes (the closest to a managed heap's size; it still holds garbage not yet collected).
    /// </summary>
    public async Task<long> GoMemoryInUseAsync(CancellationToken cancellationToken)
    {
        var text = await _http.GetStringAsync(new Uri(ClientUrl, "/metrics"), cancellationToken);
        double heap = 0, stacks = 0;
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("go_memstats_heap_inuse_bytes ", StringComparison.Ordinal))
            {
                heap = double.Parse(line.AsSpan("go_memstats_heap_inuse_bytes ".Length), NumberStyles.Float, CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("go_memstats_stack_inuse_bytes ", StringComparison.Ordinal))
            {
                stacks = double.Parse(line.AsSpan("go_memstats_stack_inuse_bytes ".Length), NumberStyles.Float, CultureInfo.InvariantCulture);
            }
        }
        if (heap == 0)
        {
            throw new InvalidOperationException("etcd's /metrics has no go_memstats_heap_inuse_bytes.");
        }
        return (long)(heap + stacks);
    }

    /// <summary>Throws, with etcd's last log lines, if it has exited.</summary>
    public void ThrowIfExited()
    {
        if (_process.HasExited)
        {
            throw new InvalidOperationException($"etcd exited with code {_process.ExitCode}:{Environment.NewLine}{RecentLog()}");
        }
    }

    public string RecentLog() => _log.ToString();

    private async Task WaitHealthyAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            ThrowIfExited();
            try
            {
                // {"health":"true"} once the member has a leader (itself) and serves requests.
                var health = await _http.GetStringAsync(new Uri(ClientUrl, "/health"), cancellationToken);
                if (health.Contains("\"health\":\"true\"", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            if (clock.Elapsed > StartTimeout)
            {
                throw new TimeoutException($"etcd did not become healthy within {StartTimeout.TotalSeconds:0} s:{Environment.NewLine}{RecentLog()}");
            }
            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>Kills etcd (it keeps nothing we need) and deletes its data directory; safe to call more than once.</summary>
    private void Stop()
    {
        ChildProcess.Kill(_process);
        try
        {
            if (Directory.Exists(_dataDir))
            {
                Directory.Delete(_dataDir, recursive: true);
            }
        }
        catch (IOException)
        {
            // Left behind in a temp directory; nothing depends on it.
        }
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            AppDomain.CurrentDomain.ProcessExit -= _onExit;
            Stop();
            _process.Dispose();
            _http.Dispose();
        }
        return ValueTask.CompletedTask;
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    // etcd Version: 3.4.23
    [GeneratedRegex(@"^etcd Version: (?<version>\S+)", RegexOptions.Multiline)]
    private static partial Regex VersionLine();
}
