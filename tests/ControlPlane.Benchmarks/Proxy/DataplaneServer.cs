using System.Diagnostics;
using System.Globalization;
using ControlPlane.Benchmarks.Fanout;
using ControlPlane.Benchmarks.Processes;

namespace ControlPlane.Benchmarks.Proxy;

/// <summary>
/// A dataplane node (ControlPlane.Dataplane, from this build) in a process of its own, taking its
/// config from a control plane, logging at Warning; ready once it serves a request through
/// <c>/g/{image}/</c>.
/// </summary>
internal sealed class DataplaneServer : IAsyncDisposable
{
    public const string AssemblyName = "ControlPlane.Dataplane.dll";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly LogTail _log = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };

    private DataplaneServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    /// <summary>The edge proxy's HTTP/1.1 port (its ops endpoints answer there too).</summary>
    public int Port { get; }

    public Uri Url => new($"http://127.0.0.1:{Port}/");

    public int ProcessId => _process.Id;

    /// <summary>Starts a node that takes its config from <paramref name="controlPlane"/>, and waits until <paramref name="probe"/> answers 200 through it.</summary>
    public static async Task<DataplaneServer> StartAsync(Uri controlPlane, string probe, CancellationToken cancellationToken)
    {
        var assembly = Path.Combine(AppContext.BaseDirectory, AssemblyName);
        if (!File.Exists(assembly))
        {
            throw new InvalidOperationException($"{assembly} is missing: build tests/ControlPlane.Benchmarks, which references ControlPlane.Dataplane.");
        }
        var port = EtcdServer.FreePort();
        var start = new ProcessStartInfo(ControlPlaneServer.DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(assembly)!,
        };
        start.ArgumentList.Add(assembly);
        foreach (var option in new[]
        {
            $"--Dataplane:HttpPort={port.ToString(CultureInfo.InvariantCulture)}",
            "--Dataplane:Http2Port=-1",
            "--Dataplane:BindAddress=127.0.0.1",
            $"--Dataplane:ControlPlanes:0={controlPlane}",
            "--Dataplane:NodeId=bench-proxy-node",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:Microsoft.AspNetCore=Warning",
        })
        {
            start.ArgumentList.Add(option);
        }
        foreach (var name in start.Environment.Keys.Where(n =>
            n.StartsWith("Dataplane__", StringComparison.OrdinalIgnoreCase) || n.StartsWith("DATAPLANE_", StringComparison.Ordinal)
            || n.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || n.StartsWith("Logging__", StringComparison.OrdinalIgnoreCase)
            || n.StartsWith("DOTNET_GC", StringComparison.OrdinalIgnoreCase)).ToArray())
        {
            start.Environment.Remove(name);
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the dataplane.");
        var server = new DataplaneServer(process, port);
        process.OutputDataReceived += (_, e) => server._log.Add(e.Data);
        process.ErrorDataReceived += (_, e) => server._log.Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await server.WaitServingAsync(probe, cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private async Task WaitServingAsync(string probe, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The dataplane exited with {_process.ExitCode}:{Environment.NewLine}{_log}");
            }
            try
            {
                using var response = await _http.GetAsync(new Uri(Url, probe), cancellationToken);
                if (response.IsSuccessStatusCode)
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
                throw new TimeoutException($"The dataplane did not serve {probe} within {StartTimeout.TotalSeconds:0} s:{Environment.NewLine}{_log}");
            }
            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>Bytes the node's process has allocated so far (its /metrics, dotnet_gc_heap_total_allocated_bytes_total).</summary>
    public async Task<double> AllocatedBytesAsync(CancellationToken cancellationToken)
    {
        var text = await _http.GetStringAsync(new Uri(Url, "/metrics"), cancellationToken);
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("dotnet_gc_heap_total_allocated_bytes_total ", StringComparison.Ordinal))
            {
                return double.Parse(line[(line.IndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
        }
        throw new InvalidOperationException("The dataplane's /metrics has no dotnet_gc_heap_total_allocated_bytes_total.");
    }

    public ValueTask DisposeAsync()
    {
        ChildProcess.Kill(_process);
        _process.Dispose();
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}
