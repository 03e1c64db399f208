using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Discovery;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using ControlPlane.Sdk;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Dataplane.Reporting;

/// <summary>
/// Streams the node's load to the control plane (LoadReportService.ReportLoad). Every
/// <see cref="ReportingOptions.Interval"/> the recorder's interval is closed into the next report of
/// the epoch (<see cref="PendingReports"/>, on disk when <see cref="DiscoveryOptions.StateDirectory"/>
/// is set). Reports are sent one at a time, oldest first, each answered before the next leaves, so
/// after a reconnect or a failover the node simply starts again from its oldest unacknowledged
/// report; the control plane's exactly-once check makes the resend of one it had already counted a
/// harmless duplicate. Streams go to the control plane the discovery client is connected to, else
/// to the configured addresses in turn (from a random one, as the discovery client starts), with the
/// same backoff: it starts over only after a stream that answered and lasted
/// <see cref="DiscoveryOptions.BackoffResetAfter"/>, so a control plane that takes a report and drops
/// the stream is not met with a new one every quarter second by every node. On shutdown the last interval is
/// closed and the node waits up to <see cref="ReportingOptions.FlushTimeout"/> for it to be acknowledged.
/// </summary>
public sealed class LoadReporter : BackgroundService
{
    private static readonly Method<ReportLoadRequest, ReportLoadResponse> ReportMethod =
        new(LoadReportReflection.Descriptor.Services[0].FindMethodByName("ReportLoad"));

    private readonly ReportingOptions _options;
    private readonly DiscoveryOptions _discovery;
    private readonly LoadRecorder _recorder;
    private readonly TimeProvider _time;
    private readonly ILogger<LoadReporter> _logger;
    private readonly DiscoveryClient? _discoveryClient;
    private readonly ExponentialBackoff _backoff;
    private readonly int _firstAddress;
    private readonly ReportStateStore? _store;
    private readonly PendingReports _pending;
    private readonly Metadata _headers = [];
    private readonly Node _node;
    private readonly Dictionary<string, GrpcChannel> _channels = new(StringComparer.Ordinal);
    private readonly Lock _closeLock = new();
    private readonly CancellationTokenSource _stopTicks = new();
    private PeriodicTimer? _timer;
    private Task _ticks = Task.CompletedTask;
    private DateTimeOffset _intervalStart;
    private volatile string? _connected;
    private bool _answered;
    private ulong _inFlight;
    private long _setAsideRequests;

    internal LoadReporter(
        ReportingOptions options,
        DiscoveryOptions discovery,
        LoadRecorder recorder,
        TimeProvider time,
        ILogger<LoadReporter> logger,
        DiscoveryClient? discoveryClient = null,
        Random? random = null,
        Func<string, string?>? getVariable = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(discovery);
        ArgumentNullException.ThrowIfNull(recorder);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        options.Validate();
        if (discovery.ControlPlanes.Count == 0)
        {
            throw new ArgumentException("Dataplane:ControlPlanes names no control plane", nameof(discovery));
        }
        _options = options;
        _discovery = discovery;
        _recorder = recorder;
        _time = time;
        _logger = logger;
        _discoveryClient = discoveryClient;
        Interval = options.Interval;
        random ??= Random.Shared;
        _backoff = new ExponentialBackoff(discovery.ReconnectBaseDelay, discovery.ReconnectMaxDelay, random);
        _firstAddress = discovery.StartAtRandomControlPlane ? Math.Min((int)(random.NextDouble() * discovery.ControlPlanes.Count), discovery.ControlPlanes.Count - 1) : 0;
        _node = NodeCredentials.CreateNode(discovery);
        if (NodeCredentials.ReadToken(discovery, getVariable ?? Environment.GetEnvironmentVariable) is { } credential)
        {
            _headers.Add(NodeCredentials.TokenHeader, credential.Token);
        }
        _store = string.IsNullOrEmpty(discovery.StateDirectory) ? null : new ReportStateStore(discovery.StateDirectory);
        _pending = PendingReportsLoader.Open(_store, options.MaxPendingReports, logger);
    }

    /// <summary>The current sequence space (kept across restarts with a state directory).</summary>
    public string Epoch => _pending.Epoch;

    /// <summary>The last sequence assigned in <see cref="Epoch"/>.</summary>
    public ulong LastSequence => _pending.LastSequence;

    /// <summary>The highest sequence of <see cref="Epoch"/> a control plane acknowledged since start.</summary>
    public ulong LastAcknowledged => _pending.LastAcknowledged;

    /// <summary>Reports not yet acknowledged.</summary>
    public int PendingCount => _pending.Count;

    /// <summary>Requests of reports (or parts of them) a control plane refused as invalid, set aside and never counted, since start.</summary>
    public long SetAsideRequests => Interlocked.Read(ref _setAsideRequests);

    /// <summary>The report interval in use (the configured one until a control plane sets another).</summary>
    public TimeSpan Interval { get; private set; }

    /// <summary>The control plane whose report stream has answered and is open; null while disconnected.</summary>
    public string? ConnectedControlPlane => _connected;

    /// <summary>Where unacknowledged reports are kept; null when not persisted.</summary>
    public string? StatePath => _store?.Path;

    /// <summary>Completes at the next change of the reports held (added, acknowledged, renumbered): for waiting without polling.</summary>
    internal Task Changed => _pending.Changed;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _intervalStart = _time.GetUtcNow();
        _timer = new PeriodicTimer(Interval, _time);
        _ticks = TickAsync(_timer, _stopTicks.Token);
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Kestrel has stopped by now (the server is the host's last service, so it stops first):
        // no request is still being counted, and the last interval holds the rest.
        await _stopTicks.CancelAsync();
        await _ticks;
        CloseInterval();
        await FlushAsync(cancellationToken);
        await base.StopAsync(cancellationToken);
    }

    /// <summary>Closes the current interval into the next report now (the timer does it every interval).</summary>
    internal void CloseInterval()
    {
        lock (_closeLock)
        {
            // An interval must end after it starts (load_report.proto), also when two closes fall on one
            // clock reading or the clock stepped back: otherwise the report would be refused forever.
            var now = _time.GetUtcNow();
            var end = now > _intervalStart ? now : _intervalStart.AddTicks(TimeSpan.TicksPerMillisecond);
            var counters = _recorder.Collect();
            _pending.Add(counters.ToImageLoads(), _intervalStart, end);
            _intervalStart = end;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var index = _firstAddress;
        while (!stoppingToken.IsCancellationRequested)
        {
            // Follow the discovery stream's control plane: one replica sees the node whole.
            var address = _discoveryClient?.ConnectedControlPlane ?? _discovery.ControlPlanes[index % _discovery.ControlPlanes.Count];
            _answered = false;
            var openedAt = _time.GetTimestamp();
            string reason;
            try
            {
                await RunStreamAsync(address, stoppingToken);
                reason = "closed by the control plane";
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (RpcException ex)
            {
                reason = $"{ex.Status.StatusCode}: {ex.Status.Detail}";
                if (ex.StatusCode == StatusCode.InvalidArgument)
                {
                    Repair(ex.Status);
                }
            }
#pragma warning disable CA1031 // any failure of a stream means: reconnect, keeping every report
            catch (Exception ex)
#pragma warning restore CA1031
            {
                reason = ex.GetType().Name + ": " + ex.Message;
            }
            _connected = null;
            if (!_answered)
            {
                index++;
            }
            else if (_time.GetElapsedTime(openedAt) >= _discovery.BackoffResetAfter)
            {
                _backoff.Reset();
            }
            var delay = _backoff.Next();
            ReportingLog.StreamEnded(_logger, address, reason, _pending.Count, delay);
            try
            {
                await Task.Delay(delay, _time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private async Task RunStreamAsync(string address, CancellationToken stoppingToken)
    {
        using var stream = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        ReportingLog.Connecting(_logger, address, _node.Id, _pending.Epoch, _pending.Count);
        using var call = Channel(address).AsyncDuplexStreamingCall(ReportMethod, new CallOptions(_headers, cancellationToken: stream.Token));
        var identified = false;
        _inFlight = 0;
        Task<bool>? read = null;
        try
        {
            while (true)
            {
                var changed = _pending.Changed;
                var report = _pending.TakeOldest();
                if (report is null)
                {
                    // Nothing to send: wait for the next report, and (once the server has heard from the
                    // node) notice meanwhile an unprompted answer or the end of the stream.
                    read ??= identified ? call.ResponseStream.MoveNext(stream.Token) : null;
                    await (read is null ? changed.WaitAsync(stream.Token) : Task.WhenAny(read, changed.WaitAsync(stream.Token)));
                    stream.Token.ThrowIfCancellationRequested();
                    if (read is { IsCompleted: true })
                    {
                        if (!await read)
                        {
                            return;
                        }
                        read = null;
                        Answered(address, call.ResponseStream.Current, inFlight: 0);
                    }
                    continue;
                }
                var message = report.Clone();
                if (!identified)
                {
                    message.Node = _node;
                    identified = true;
                }
                _inFlight = message.Sequence;
                await call.RequestStream.WriteAsync(message, stream.Token);
                while (true)
                {
                    read ??= call.ResponseStream.MoveNext(stream.Token);
                    if (!await read)
                    {
                        return; // ended without answering: the report stays, to be sent again
                    }
                    read = null;
                    var outcome = Answered(address, call.ResponseStream.Current, message.Sequence);
                    if (outcome is AckOutcome.Progress or AckOutcome.Renumbered)
                    {
                        _inFlight = 0;
                        break;
                    }
                }
            }
        }
        finally
        {
            await stream.CancelAsync();
            if (read is not null)
            {
                await read.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
            }
        }
    }

    /// <summary>
    /// A control plane refused the report in flight as invalid (<see cref="PendingReports.Refused"/>):
    /// it is split, or what the refusal names is set aside (in the state directory's
    /// <see cref="ReportStateStore.SetAsideFileName"/>, else only in the log), so the reports after it
    /// are counted. Resending it unchanged would be refused forever and hold every later report back.
    /// </summary>
    private void Repair(Status refusal)
    {
        var inFlight = _inFlight;
        if (inFlight == 0)
        {
            return; // refused before any report left (the node's identity): not a report's fault
        }
        var epoch = _pending.Epoch;
        var now = _time.GetUtcNow();
        var where = _store is null ? "no Dataplane:StateDirectory keeps them" : $"kept in {_store.SetAsidePath}";
        RefusalRepair repair;
        try
        {
            repair = _pending.Refused(inFlight, refusal.FieldViolations(), aside => _store?.SetAsideReport(aside, refusal.Detail, now));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ReportingLog.SetAsideFailed(_logger, epoch, inFlight, _store!.SetAsidePath, ex);
            return;
        }
        switch (repair.Action)
        {
            case RefusalAction.Split:
                ReportingLog.Split(_logger, epoch, inFlight, refusal.Detail, repair.Parts, _pending.MaxEntries);
                break;
            case RefusalAction.ImagesSetAside or RefusalAction.ReportSetAside:
                var requests = repair.SetAside!.Images.Sum(i => i.ReqCount);
                Interlocked.Add(ref _setAsideRequests, requests);
                ReportingLog.SetAside(_logger, epoch, inFlight, refusal.Detail, requests, repair.SetAside.Images.Count,
                    repair.Action == RefusalAction.ReportSetAside ? "the whole report" : "those image entries", where);
                break;
            case RefusalAction.NewEpoch:
                ReportingLog.EpochRefused(_logger, epoch, refusal.Detail, _pending.Count, _pending.Epoch);
                break;
        }
    }

    private AckOutcome Answered(string address, ReportLoadResponse response, ulong inFlight)
    {
        _answered = true;
        _connected = address;
        if (response.ReportInterval is { } requested)
        {
            SetInterval(requested.ToTimeSpan());
        }
        var epoch = _pending.Epoch;
        var outcome = _pending.Acknowledge(response.Epoch, response.AckedSequence, inFlight);
        if (outcome == AckOutcome.Progress && inFlight > 0)
        {
            ReportingLog.Acknowledged(_logger, epoch, inFlight, response.ControlPlaneId, response.AckedSequence);
        }
        else if (outcome == AckOutcome.Renumbered)
        {
            ReportingLog.Renumbered(_logger, epoch, inFlight, response.AckedSequence, _pending.Count, _pending.Epoch);
        }
        return outcome;
    }

    private void SetInterval(TimeSpan requested)
    {
        // A control plane may tune the interval, within the same bounds as the configuration.
        var interval = TimeSpan.FromTicks(Math.Clamp(requested.Ticks, TimeSpan.TicksPerSecond, TimeSpan.FromMinutes(5).Ticks));
        if (interval == Interval || _timer is null)
        {
            return;
        }
        Interval = interval;
        _timer.Period = interval;
        ReportingLog.IntervalChanged(_logger, interval);
    }

    private async Task TickAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                CloseInterval();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping: StopAsync closes the last interval itself.
        }
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        // Wall-clock, like the host's own shutdown timeout: stopping must never wait on a clock that
        // only moves when something advances it.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.FlushTimeout);
        try
        {
            while (true)
            {
                var changed = _pending.Changed;
                if (_pending.Count == 0)
                {
                    return;
                }
                await changed.WaitAsync(deadline.Token);
            }
        }
        catch (OperationCanceledException)
        {
            ReportingLog.StoppedWithPending(_logger, _pending.Count, _options.FlushTimeout,
                _store is null ? "lost, as no Dataplane:StateDirectory keeps them" : $"kept in {_store.Path}, resent at the next start");
        }
    }

    private GrpcChannel Channel(string address)
    {
        lock (_channels)
        {
            if (!_channels.TryGetValue(address, out var channel))
            {
                channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
                {
                    TimeProvider = _time,
                    ConnectTimeout = TimeSpan.FromSeconds(5),
                    // As the discovery stream's: a hung replica is left within interval + timeout.
                    KeepAlivePingDelay = _discovery.ControlPlaneKeepAliveInterval,
                    KeepAlivePingTimeout = _discovery.ControlPlaneKeepAliveTimeout,
                    KeepAliveWithoutCalls = true,
                });
                _channels[address] = channel;
            }
            return channel;
        }
    }

    public override void Dispose()
    {
        base.Dispose();
        _timer?.Dispose();
        _stopTicks.Dispose();
        lock (_channels)
        {
            foreach (var channel in _channels.Values)
            {
                channel.Dispose();
            }
            _channels.Clear();
        }
    }
}
