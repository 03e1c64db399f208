using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using ControlPlane.Benchmarks.Fanout;
using ControlPlane.Benchmarks.Processes;

namespace ControlPlane.Benchmarks.Redis;

/// <summary>
/// Debian's redis-server on a free loopback port, persisting nothing (<c>--save "" --appendonly no</c>)
/// in a temporary folder: the store the replicas share and redis-benchmark measures. Killed and its
/// folder deleted on dispose, on Ctrl-C (through the benchmark's cancellation) and at process exit.
/// </summary>
internal sealed partial class RedisServerProcess : IAsyncDisposable
{
    public const string Executable = "/usr/bin/redis-server";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly string _directory;
    private readonly LogTail _log = new();
    private readonly EventHandler _onExit;
    private int _disposed;

    private RedisServerProcess(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
        _onExit = (_, _) => ChildProcess.Kill(_process);
        AppDomain.CurrentDomain.ProcessExit += _onExit;
    }

    public int Port { get; }

    /// <summary>The control plane's store URL for this server, database 0.</summary>
    public string Url => string.Create(CultureInfo.InvariantCulture, $"redis://127.0.0.1:{Port}/0");

    public int ProcessId => _process.Id;

    /// <summary>"7.0.15" from <c>redis-server --version</c>; null when it is not installed.</summary>
    public static async Task<string?> VersionAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(Executable))
        {
            return null;
        }
        using var process = Process.Start(new ProcessStartInfo(Executable, "--version") { RedirectStandardOutput = true, UseShellExecute = false })!;
        var output = await process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return VersionPattern().Match(output) is { Success: true } match ? match.Groups["version"].Value : output.Trim();
    }

    public static async Task<RedisServerProcess> StartAsync(CancellationToken cancellationToken)
    {
        var directory = Directory.CreateTempSubdirectory("controlplane-bench-redis-").FullName;
        var port = EtcdServer.FreePort();
        var start = new ProcessStartInfo(Executable)
        {
            ArgumentList = { "--bind", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture), "--save", "", "--appendonly", "no", "--dir", directory, "--daemonize", "no" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start redis-server.");
        var server = new RedisServerProcess(process, directory, port);
        process.OutputDataReceived += (_, e) => server._log.Add(e.Data);
        process.ErrorDataReceived += (_, e) => server._log.Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var clock = Stopwatch.StartNew();
            while (true)
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"redis-server exited with code {process.ExitCode}:{Environment.NewLine}{server._log}");
                }
                try
                {
                    if (await server.CommandAsync(cancellationToken, "PING") == "PONG")
                    {
                        return server;
                    }
                }
                catch (SocketException)
                {
                    // Not listening yet.
                }
                if (clock.Elapsed > StartTimeout)
                {
                    throw new TimeoutException($"redis-server did not answer PING within {StartTimeout.TotalSeconds:0} s:{Environment.NewLine}{server._log}");
                }
                await Task.Delay(50, cancellationToken);
            }
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Sends one command (RESP arrays of bulk strings) on a connection of its own and returns the
    /// reply's text: a simple string, an integer, or a bulk string (null for a null bulk string).
    /// For the benchmark's few reads beside the replicas, not for load.
    /// </summary>
    public async Task<string?> CommandAsync(CancellationToken cancellationToken, params string[] arguments)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Port, cancellationToken);
        var stream = client.GetStream();
        var request = new StringBuilder().Append('*').Append(arguments.Length).Append("\r\n");
        foreach (var argument in arguments)
        {
            request.Append('$').Append(Encoding.UTF8.GetByteCount(argument)).Append("\r\n").Append(argument).Append("\r\n");
        }
        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), cancellationToken);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var line = await reader.ReadLineAsync(cancellationToken) ?? throw new IOException("redis-server closed the connection without a reply.");
        switch (line[0])
        {
            case '+' or ':':
                return line[1..];
            case '-':
                throw new InvalidOperationException($"redis-server answered {string.Join(' ', arguments)} with {line}");
            case '$':
                var length = int.Parse(line.AsSpan(1), CultureInfo.InvariantCulture);
                if (length < 0)
                {
                    return null;
                }
                var buffer = new char[length];
                await reader.ReadBlockAsync(buffer, cancellationToken);
                return new string(buffer);
            default:
                throw new InvalidOperationException($"Unexpected reply to {string.Join(' ', arguments)}: {line}");
        }
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            AppDomain.CurrentDomain.ProcessExit -= _onExit;
            ChildProcess.Kill(_process);
            _process.Dispose();
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
                // A temporary folder: left for the system to clear.
            }
        }
        return ValueTask.CompletedTask;
    }

    // Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=...
    [GeneratedRegex(@"v=(?<version>\S+)")]
    private static partial Regex VersionPattern();
}
