using ControlPlane.Interop.Tests.Infrastructure;

namespace ControlPlane.Interop.Tests.Python;

/// <summary>
/// tests/interop/python/interop_server.py (grpcio), started once per test class on a free port.
/// It is started by the first test that asks for it (after that test checked the prerequisites,
/// so a missing python skips instead of breaking the fixture), serves until stdin closes, and is
/// killed on dispose.
/// </summary>
public sealed class PythonServerFixture : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);

    private readonly SemaphoreSlim _startLock = new(1, 1);
    private ExternalProcess? _process;
    private int _port;

    /// <summary>The port of the running python server; starts it on first use.</summary>
    public async Task<int> GetPortAsync()
    {
        await Prerequisites.RequirePythonGrpcAsync();
        await _startLock.WaitAsync().DefaultTimeout();
        try
        {
            if (_process is null)
            {
                var process = ExternalProcess.Start(
                    Prerequisites.Python, ["interop_server.py", "--port", "0"], Lifetime, Prerequisites.PythonHarnessDirectory, redirectStdin: true);
                var line = await process.ReadLineAsync(StartTimeout);
                if (line is null || !line.StartsWith("LISTENING ", StringComparison.Ordinal) || !int.TryParse(line.AsSpan("LISTENING ".Length), out var port))
                {
                    await process.DisposeAsync();
                    throw new InvalidOperationException($"The python server did not print 'LISTENING <port>' (got {line ?? "end of output"}).{Environment.NewLine}{process.Describe()}");
                }
                _process = process;
                _port = port;
            }
            return _port;
        }
        finally
        {
            _startLock.Release();
        }
    }

    /// <summary>What the server printed so far, for failure messages.</summary>
    public string Describe() => _process?.Describe() ?? "(python server not started)";

    public async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            // Closing stdin is the harness's "stop": give it a moment to exit cleanly, then kill it regardless.
            try
            {
                process.StandardInput.Close();
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (Exception ex) when (ex is TimeoutException or IOException)
            {
            }
            await process.DisposeAsync();
        }
        _startLock.Dispose();
    }
}
