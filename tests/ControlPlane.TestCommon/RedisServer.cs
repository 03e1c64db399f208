using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ControlPlane.TestCommon.Processes;

namespace ControlPlane.TestCommon;

/// <summary>
/// A real redis-server (Debian's /usr/bin/redis-server) on a free loopback port, persisting
/// nothing (<c>--save "" --appendonly no</c>) in a temporary folder; it can be stopped and started
/// again on the same port (a Redis outage), and is killed and deleted on dispose. Where the binary
/// is missing the test skips, or fails in CI.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    public const string Binary = "/usr/bin/redis-server";

    private readonly string _directory;
    private readonly string[] _extraArguments;
    private readonly bool _tls;
    private readonly ConcurrentQueue<string> _log = new();
    private Process? _process;

    private RedisServer(string directory, int port, string[] extraArguments, bool tls)
    {
        _directory = directory;
        Port = port;
        _extraArguments = extraArguments;
        _tls = tls;
    }

    public int Port { get; }

    /// <summary>The store's URL for this server, database 0 (rediss:// when it speaks TLS only).</summary>
    public string Url => $"{(_tls ? "rediss" : "redis")}://127.0.0.1:{Port}/0";

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>True when redis-server is installed; tests call <see cref="Require"/> to skip (or fail in CI) otherwise.</summary>
    public static bool Installed => File.Exists(Binary);

    public static void Require() => ExternalTools.Require(Binary, "apt-get install redis-server");

    /// <summary>Starts a server; <paramref name="extraArguments"/> are more redis-server options (e.g. "--requirepass", "x").</summary>
    public static Task<RedisServer> StartAsync(params string[] extraArguments) => StartAsync(extraArguments, tls: false);

    /// <summary>A server that speaks TLS only, with this certificate and key (PEM files); clients are not asked for certificates.</summary>
    public static Task<RedisServer> StartTlsAsync(string certificateFile, string keyFile) =>
        StartAsync(["--tls-cert-file", certificateFile, "--tls-key-file", keyFile, "--tls-auth-clients", "no"], tls: true);

    private static async Task<RedisServer> StartAsync(string[] extraArguments, bool tls)
    {
        Require();
        var directory = Directory.CreateTempSubdirectory("redis-test-").FullName;
        // A free port may be taken between choosing and binding it: try a few.
        for (var attempt = 1; ; attempt++)
        {
            var server = new RedisServer(directory, Processes.FreePorts.Next(), extraArguments, tls);
            try
            {
                await server.StartAsync();
                return server;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                await server.StopAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>Starts the server again on its port (after <see cref="StopAsync"/>), empty: nothing was saved.</summary>
    public async Task StartAsync()
    {
        if (IsRunning)
        {
            return;
        }
        var start = new ProcessStartInfo(Binary)
        {
            ArgumentList = { "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", _directory, "--daemonize", "no" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var port = Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var argument in (string[])(_tls ? ["--port", "0", "--tls-port", port] : ["--port", port]))
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var argument in _extraArguments)
        {
            start.ArgumentList.Add(argument);
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { _log.Enqueue(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { _log.Enqueue(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        await WaitForPingAsync(process);
    }

    /// <summary>Kills the server (no shutdown handshake: a crash, as far as clients can tell) and waits for it to exit.</summary>
    public async Task StopAsync()
    {
        if (_process is null)
        {
            return;
        }
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        await _process.WaitForExitAsync().DefaultTimeout();
        _process.Dispose();
        _process = null;
    }

    /// <summary>Freezes the server (SIGSTOP): connections stay open and nothing answers, as with a hung or swapping Redis.</summary>
    public void Pause() => ChildProcess.Signal(Running.Id, ChildProcess.SigStop);

    /// <summary>Lets a paused server run again (SIGCONT).</summary>
    public void Resume() => ChildProcess.Signal(Running.Id, ChildProcess.SigCont);

    private Process Running => _process ?? throw new InvalidOperationException("redis-server is not running");

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>Sends PING (over TLS for a TLS server) until the server answers (any reply: with requirepass it is -NOAUTH).</summary>
    private async Task WaitForPingAsync(Process process)
    {
        using var deadline = new CancellationTokenSource(TaskTimeoutExtensions.Timeout);
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited ({process.ExitCode}): " + string.Join(Environment.NewLine, _log));
            }
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port, deadline.Token);
                Stream stream = client.GetStream();
                if (_tls)
                {
                    // Readiness only: the tests check the certificate through the store.
                    var tls = new System.Net.Security.SslStream(stream, leaveInnerStreamOpen: false, (_, _, _, _) => true);
                    await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions { TargetHost = "localhost" }, deadline.Token);
                    stream = tls;
                }
                await using var owned = stream;
                await stream.WriteAsync("PING\r\n"u8.ToArray(), deadline.Token);
                var buffer = new byte[64];
                var read = await stream.ReadAsync(buffer, deadline.Token);
                var reply = Encoding.ASCII.GetString(buffer, 0, read);
                if (reply.StartsWith('+') || reply.StartsWith("-NOAUTH", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is SocketException or IOException)
            {
                // Not listening yet.
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                break;
            }
            if (!await tick.WaitForNextTickAsync(deadline.Token).AsTask().ContinueWith(t => t.IsCompletedSuccessfully, TaskScheduler.Default))
            {
                break;
            }
        }
        throw new TimeoutException($"redis-server on port {Port} did not answer PING within {TaskTimeoutExtensions.Timeout}.");
    }

}
