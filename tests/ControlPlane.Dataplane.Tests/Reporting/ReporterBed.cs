using System.Net;
using System.Net.Sockets;
using ControlPlane.Dataplane.Discovery;
using ControlPlane.Dataplane.Reporting;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Dataplane.Tests.Reporting;

/// <summary>
/// A load reporter as the node runs it, on virtual time, fed by a recorder the test writes to
/// directly. Waits are signalled by the reporter's changes, never by sleeping.
/// </summary>
internal sealed class ReporterBed : IAsyncDisposable
{
    private readonly ILoggerFactory _loggers;
    private readonly SemaphoreSlim _logged = new(0);
    private bool _stopped;

    public ReporterBed(string[] controlPlanes, string? stateDirectory = null, Action<ReportingOptions>? configure = null, string? token = null, bool instantReconnect = true, Random? random = null)
    {
        _loggers = LoggerFactory.Create(b => b.AddProvider(new SignallingProvider(Logs, _logged)).SetMinimumLevel(LogLevel.Debug));
        var options = new ReportingOptions { FlushTimeout = TimeSpan.Zero };
        configure?.Invoke(options);
        var discovery = new DiscoveryOptions { NodeId = "node-r", StateDirectory = stateDirectory };
        discovery.ControlPlanes.AddRange(controlPlanes);
        Reporter = new LoadReporter(
            options, discovery, Recorder, Clock, _loggers.CreateLogger<LoadReporter>(), discoveryClient: null,
            // Reconnect at once, or wait (on virtual time) until the test advances the clock.
            random: random ?? (instantReconnect ? new ZeroRandom() : null),
            getVariable: name => name == discovery.TokenVariable ? token : null);
    }

    public ManualTimeProvider Clock { get; } = new();

    public LoadRecorder Recorder { get; } = new();

    public LoadReporter Reporter { get; }

    public TestLogSink Logs { get; } = new();

    /// <summary>Error events the test expects (every other error log fails it at dispose).</summary>
    public HashSet<int> ExpectedErrors { get; } = [];

    /// <summary>An address where nothing listens (a port just released).</summary>
    public static string Unreachable()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return $"http://127.0.0.1:{port}";
    }

    public async Task<ReporterBed> StartAsync()
    {
        await Reporter.StartAsync(CancellationToken.None).DefaultTimeout();
        return this;
    }

    /// <summary><paramref name="requests"/> answered requests of <paramref name="image"/>, forwarded to <paramref name="instance"/>.</summary>
    public void Serve(string image, int requests, string? instance = "i1")
    {
        for (var i = 0; i < requests; i++)
        {
            Recorder.Record(image, instance, 200, 10, TimeSpan.FromMilliseconds(2));
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds, re-checking at each change of the reports held and each log entry.</summary>
    public async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TaskTimeoutExtensions.Timeout;
        while (true)
        {
            var changed = Reporter.Changed;
            var logged = _logged.WaitAsync();
            if (condition())
            {
                return;
            }
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || await Task.WhenAny(changed, logged, Task.Delay(left)) is var woke && woke != changed && woke != logged)
            {
                throw new TimeoutException($"Timed out waiting for {what}; epoch {Reporter.Epoch}, last sequence {Reporter.LastSequence}, acknowledged {Reporter.LastAcknowledged}, "
                    + $"pending {Reporter.PendingCount}; log: {string.Join(" | ", Logs.Records.TakeLast(6))}");
            }
        }
    }

    /// <summary>Waits until every report held is acknowledged.</summary>
    public Task WaitForAllAcknowledgedAsync() =>
        WaitUntilAsync(() => Reporter.PendingCount == 0 && Reporter.LastAcknowledged == Reporter.LastSequence, "every report acknowledged");

    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await Reporter.StopAsync(CancellationToken.None).DefaultTimeout();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Reporter.Dispose();
        _loggers.Dispose();
        Assert.DoesNotContain(Logs.Errors, e => !ExpectedErrors.Contains(e.EventId.Id));
    }

    private sealed class ZeroRandom : Random
    {
        public override double NextDouble() => 0;
    }

    /// <summary>Forwards to the sink and signals each entry, so a wait can re-check on log events too.</summary>
    private sealed class SignallingProvider(TestLogSink sink, SemaphoreSlim logged) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(sink.CreateLogger(categoryName), logged);

        public void Dispose()
        {
        }

        private sealed class Logger(ILogger inner, SemaphoreSlim logged) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

            public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
                logged.Release();
            }
        }
    }
}
