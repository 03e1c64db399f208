using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ControlPlane.TestCommon.Processes;

/// <summary>
/// One program under test: <c>dotnet X.dll</c> with its configuration in environment variables, its
/// stdout and stderr kept line by line, ready once its readiness URL answers 200 (polled, with a
/// deadline: never a fixed sleep). Killed on dispose, and when the test process exits, so no run
/// leaves processes behind.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    /// <summary>How long a program may take to become ready on a busy 2-core machine.</summary>
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    private const int MaxLines = 20_000;
    private static readonly ConcurrentDictionary<int, Process> Live = new();
    private static readonly string[] Inherited = ["PATH", "HOME", "TMPDIR", "DOTNET_ROOT", "DOTNET_CLI_HOME", "NUGET_PACKAGES", "LANG"];

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private int _lineCount;
    private int _disposed;

    static ChildProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var process in Live.Values)
            {
                TryKill(process);
            }
        };
    }

    private ChildProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    /// <summary>The process id (kept: it is still named in logs after the process is gone).</summary>
    public int Id { get; private set; }

    public bool HasExited
    {
        get
        {
            try
            {
                return _process.HasExited;
            }
            catch (InvalidOperationException)
            {
                return true; // disposed
            }
        }
    }

    /// <summary>Lines written so far (a mark for <see cref="LinesSince"/>).</summary>
    public int LineCount => Volatile.Read(ref _lineCount);

    public IReadOnlyList<string> Lines => _lines.ToArray();

    /// <summary>
    /// Starts <paramref name="dll"/> with exactly <paramref name="environment"/> (plus PATH, HOME and the
    /// dotnet variables), and waits until <paramref name="readyUrl"/> answers 200. Fails with the
    /// program's output when it exits first or is not ready within <see cref="ReadyTimeout"/>.
    /// </summary>
    public static async Task<ChildProcess> StartAsync(string name, string dll, IReadOnlyDictionary<string, string> environment, Uri readyUrl)
    {
        var info = new ProcessStartInfo(DotnetHost())
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // Content root = the program's own folder, where its appsettings.json is.
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        info.ArgumentList.Add(dll);
        // A clean environment: nothing of the runner's (tokens, ASPNETCORE_URLS ...) leaks into a child.
        info.Environment.Clear();
        foreach (var variable in Inherited)
        {
            if (Environment.GetEnvironmentVariable(variable) is { } value)
            {
                info.Environment[variable] = value;
            }
        }
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_gcServer"] = "0";
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var child = new ChildProcess(name, process);
        process.OutputDataReceived += (_, e) => child.Append(e.Data);
        process.ErrorDataReceived += (_, e) => child.Append(e.Data is null ? null : "[stderr] " + e.Data);
        process.Start();
        child.Id = process.Id;
        Live[process.Id] = process;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await child.WaitReadyAsync(readyUrl);
        }
        catch
        {
            await child.DisposeAsync();
            throw;
        }
        return child;
    }

    /// <summary>The lines written after <paramref name="mark"/> (a <see cref="LineCount"/>).</summary>
    public IReadOnlyList<string> LinesSince(int mark) => [.. _lines.Skip(Math.Max(0, mark - (Volatile.Read(ref _lineCount) - _lines.Count)))];

    /// <summary>Kills the program (SIGKILL: no goodbye to anyone) and waits until it is gone.</summary>
    public async Task KillAsync()
    {
        if (HasExited)
        {
            Live.TryRemove(Id, out _);
            return;
        }
        TryKill(_process);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(timeout.Token);
        Live.TryRemove(Id, out _);
    }

    /// <summary>
    /// Asks the program to stop (SIGTERM, as an orchestrator does: it finishes what its shutdown
    /// does) and waits until it is gone; its exit code. Killed when it takes longer than <paramref name="timeout"/>.
    /// </summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (!HasExited)
        {
            Signal(Id, SigTerm);
        }
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            await KillAsync();
            throw new TimeoutException($"{Name} did not stop within {timeout.TotalSeconds:0} s of SIGTERM");
        }
        Live.TryRemove(Id, out _);
        return _process.ExitCode;
    }

    /// <summary>
    /// Freezes the program (SIGSTOP): its kernel still accepts connections and acknowledges bytes,
    /// and nothing answers, as with a hung, swapping or partitioned process. Disposing kills it
    /// stopped or not.
    /// </summary>
    public void Pause() => Signal(Id, SigStop);

    /// <summary>Lets a paused program run again (SIGCONT).</summary>
    public void Resume() => Signal(Id, SigCont);

    /// <summary>Sends <paramref name="signal"/> to process <paramref name="pid"/>; throws when kill(2) fails.</summary>
    internal static void Signal(int pid, int signal)
    {
        if (Kill(pid, signal) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    private const int SigTerm = 15;
    internal const int SigCont = 18;
    internal const int SigStop = 19;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        try
        {
            await KillAsync();
        }
        finally
        {
            _process.Dispose();
        }
    }

    private async Task WaitReadyAsync(Uri readyUrl)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + ReadyTimeout;
        while (true)
        {
            if (_process.HasExited)
            {
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)); // the rest of its output (a grandchild could hold the pipes open)
                throw new ChildProcessException(this, $"{Name} exited with code {_process.ExitCode} before it was ready");
            }
            try
            {
                using var response = await http.GetAsync(readyUrl);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // not listening yet
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new ChildProcessException(this, $"{Name} was not ready ({readyUrl}) within {ReadyTimeout.TotalSeconds:0} s");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(100)); // the poll interval of a readiness probe, not a wait for an event
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        _lines.Enqueue(line);
        Interlocked.Increment(ref _lineCount);
        while (_lines.Count > MaxLines && _lines.TryDequeue(out _))
        {
        }
    }

    private static void TryKill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }

    /// <summary>The dotnet host running this process (…/dotnet beside shared/Microsoft.NETCore.App/&lt;version&gt;/), else the one on PATH.</summary>
    private static string DotnetHost()
    {
        var host = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..", OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet"));
        return File.Exists(host) ? host : "dotnet";
    }
}

/// <summary>A program under test failed to start; the message carries the end of its output.</summary>
public sealed class ChildProcessException(ChildProcess process, string message)
    : Exception(message + ":" + Environment.NewLine + string.Join(Environment.NewLine, process.Lines.TakeLast(60)))
{
    /// <summary>The child's output said its port was taken (another process bound it after we picked it).</summary>
    public bool PortTaken { get; } = process.Lines.Any(l => l.Contains("address already in use", StringComparison.OrdinalIgnoreCase));
}
