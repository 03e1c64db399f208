using System.Diagnostics;
using System.Text;
using System.Threading.Channels;

namespace ControlPlane.Interop.Tests.Infrastructure;

/// <summary>
/// A child process (python, buf, protoc) with its output captured line by line. It has a hard
/// lifetime: when that passes it is killed, and disposing kills it (and its children) too.
/// </summary>
public sealed class ExternalProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly CancellationTokenSource _lifetime;
    private readonly CancellationTokenRegistration _killOnTimeout;

    private ExternalProcess(Process process, TimeSpan lifetime)
    {
        _process = process;
        _lifetime = new CancellationTokenSource(lifetime);
        _killOnTimeout = _lifetime.Token.Register(static p => ((ExternalProcess)p!).Kill(), this);
    }

    public string CommandLine => _process.StartInfo.FileName + " " + string.Join(" ", _process.StartInfo.ArgumentList);

    public bool TimedOut => _lifetime.IsCancellationRequested;

    /// <summary>Open until disposed when started with <c>redirectStdin</c> (servers that exit when stdin closes).</summary>
    public StreamWriter StandardInput => _process.StandardInput;

    public string StandardOutput
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Everything the process printed, for failure messages.</summary>
    public string Describe() =>
        $"$ {CommandLine}{(TimedOut ? Environment.NewLine + "(killed: timed out)" : "")}{Environment.NewLine}--- stdout ---{Environment.NewLine}{StandardOutput}--- stderr ---{Environment.NewLine}{StandardError}";

    public static ExternalProcess Start(string fileName, IEnumerable<string> arguments, TimeSpan lifetime, string? workingDirectory = null, bool redirectStdin = false, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectStdin,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }
        // Debian's python must see its own packages only, and must not litter the repo with bytecode.
        info.Environment.Remove("PYTHONPATH");
        info.Environment.Remove("PYTHONHOME");
        info.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        info.Environment["PYTHONUNBUFFERED"] = "1";
        info.Environment["NO_COLOR"] = "1";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info };
        var external = new ExternalProcess(process, lifetime);
        process.OutputDataReceived += (_, e) => external.OnLine(e.Data, external._stdout, external._lines.Writer);
        process.ErrorDataReceived += (_, e) => external.OnLine(e.Data, external._stderr, null);
        try
        {
            process.Start();
        }
        catch
        {
            external._killOnTimeout.Dispose();
            external._lifetime.Dispose();
            process.Dispose();
            throw;
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return external;
    }

    /// <summary>Runs a command to its end (or its timeout) and returns its exit code and output.</summary>
    public static async Task<ProcessResult> RunAsync(string fileName, IEnumerable<string> arguments, TimeSpan timeout, string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        await using var process = Start(fileName, arguments, timeout, workingDirectory, environment: environment);
        var exitCode = await process.WaitForExitAsync();
        return new ProcessResult(exitCode, process.StandardOutput, process.StandardError, process.Describe());
    }

    /// <summary>The next stdout line; null at end of output. Throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public async Task<string?> ReadLineAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await _lines.Reader.WaitToReadAsync(cts.Token) && _lines.Reader.TryRead(out var line) ? line : null;
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"No output line within {timeout.TotalSeconds:0} s.{Environment.NewLine}{Describe()}");
        }
    }

    /// <summary>Waits for the exit (and the end of the output); on timeout the process is killed first.</summary>
    public async Task<int> WaitForExitAsync()
    {
        // The lifetime kill makes this end; the extra margin only guards against a process that will not die.
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(15));
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        await _killOnTimeout.DisposeAsync();
        Kill();
        try
        {
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            // Reported by the test that owns it, if it matters; never hang disposal.
        }
        _lifetime.Dispose();
        _process.Dispose();
    }

    private void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Exited meanwhile.
        }
    }

    private void OnLine(string? line, StringBuilder sink, ChannelWriter<string>? lines)
    {
        if (line is null)
        {
            lines?.TryComplete();
            return;
        }
        lock (sink)
        {
            sink.AppendLine(line);
        }
        lines?.TryWrite(line);
    }
}
