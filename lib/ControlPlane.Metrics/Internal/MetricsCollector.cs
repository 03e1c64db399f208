using System.Buffers;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace ControlPlane.Metrics.Internal;

/// <summary>
/// Listens to the selected meters with one <see cref="MeterListener"/>, aggregates every measurement
/// into its series as it is recorded, and writes them all on a scrape. Observable instruments are
/// asked for their values at scrape time.
/// </summary>
internal sealed class MetricsCollector : IDisposable
{
    /// <summary>The meter of the exporter's own process metrics.</summary>
    public const string ProcessMeterName = "ControlPlane.Metrics.Process";

    private readonly MeterListener _listener = new();
    private readonly MeterFilter _filter;
    private readonly IMeterFactory _meterFactory;
    private readonly double[] _defaultBuckets;
    private readonly ILogger _logger;
    private readonly Meter? _processMeter;
    private readonly Lock _registryGate = new();
    private readonly Dictionary<string, MetricFamily> _families = new(StringComparer.Ordinal);
    private readonly Lock _scrapeGate = new();
    private MetricFamily[] _sorted = [];
    private long _generation;
    private int _started;

    public MetricsCollector(IOptions<PrometheusMetricsOptions> options, IMeterFactory meterFactory, ILogger<MetricsCollector>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(meterFactory);
        var settings = options.Value;
        _filter = new MeterFilter(settings.Meters);
        _meterFactory = meterFactory;
        _logger = logger ?? NullLogger<MetricsCollector>.Instance;
        _defaultBuckets = HistogramBuckets.Normalize(settings.DefaultHistogramBuckets);
        if (!_defaultBuckets.SequenceEqual(settings.DefaultHistogramBuckets))
        {
            throw new ArgumentException("PrometheusMetricsOptions.DefaultHistogramBuckets must be finite and strictly increasing.", nameof(options));
        }
        if (settings.ExportProcessStartTime)
        {
            _processMeter = meterFactory.Create(new MeterOptions(ProcessMeterName));
            var startTime = ProcessStartTime();
            _processMeter.CreateObservableGauge("process.start_time", () => startTime, "s", "Start time of the process since unix epoch in seconds.");
        }

        _listener.InstrumentPublished = OnInstrumentPublished;
        _listener.MeasurementsCompleted = OnMeasurementsCompleted;
        _listener.SetMeasurementEventCallback<byte>(static (_, m, tags, state) => ((InstrumentState)state!).Record(m, tags));
        _listener.SetMeasurementEventCallback<short>(static (_, m, tags, state) => ((InstrumentState)state!).Record(m, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, m, tags, state) => ((InstrumentState)state!).Record(m, tags));
        _listener.SetMeasurementEventCallback<long>(static (_, m, tags, state) => ((InstrumentState)state!).Record(m, tags));
        _listener.SetMeasurementEventCallback<float>(static (_, m, tags, state) => ((InstrumentState)state!).Record(m, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, m, tags, state) => ((InstrumentState)state!).Record(m, tags));
        _listener.SetMeasurementEventCallback<decimal>(static (_, m, tags, state) => ((InstrumentState)state!).Record((double)m, tags));
    }

    /// <summary>Counts scrapes; an observable's series is current only if reported in the latest one.</summary>
    public long Generation => Volatile.Read(ref _generation);

    /// <summary>
    /// Starts listening. Measurements made before this are not seen, so the host starts the
    /// collector with the application rather than at the first scrape.
    /// </summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            _listener.Start();
        }
    }

    /// <summary>Writes every exported family in the text exposition format.</summary>
    public void Collect(IBufferWriter<byte> output)
    {
        Start();
        lock (_scrapeGate)
        {
            Interlocked.Increment(ref _generation);
            try
            {
                _listener.RecordObservableInstruments();
            }
            catch (AggregateException ex)
            {
                // The listener calls every callback and then throws what failed; the rest still reported.
                CollectorLog.ObservableFailed(_logger, ex);
            }
            ExpositionWriter.Write(Volatile.Read(ref _sorted), output);
        }
    }

    public void Dispose()
    {
        _listener.Dispose();
        _processMeter?.Dispose();
    }

    private void OnInstrumentPublished(Instrument instrument, MeterListener listener)
    {
        if (!Exports(instrument.Meter) || InstrumentKind.Of(instrument) is not { } kind)
        {
            return;
        }
        var (name, scale) = PrometheusNaming.MetricName(instrument.Name, instrument.Unit, kind.Type);
        var bounds = kind.Type == MetricType.Histogram ? HistogramBuckets.For(instrument, scale, _defaultBuckets) : [];
        InstrumentState state;
        lock (_registryGate)
        {
            if (_families.TryGetValue(name, out var family))
            {
                if (!family.Accepts(kind.Type, bounds))
                {
                    // Deterministic: the first instrument to claim a name keeps it.
                    CollectorLog.NameConflict(_logger, instrument.Name, instrument.Meter.Name, name, family.Type);
                    return;
                }
            }
            else
            {
                family = new MetricFamily(name, kind.Type, instrument.Description, bounds);
                _families.Add(name, family);
                PublishSorted();
            }
            state = new InstrumentState(instrument, kind, scale, family, this);
            family.Add(state);
        }
        listener.EnableMeasurementEvents(instrument, state);
    }

    /// <summary>The instrument's meter was disposed (or the listener was): its series leave the exposition.</summary>
    private void OnMeasurementsCompleted(Instrument instrument, object? state)
    {
        if (state is not InstrumentState exported)
        {
            return;
        }
        lock (_registryGate)
        {
            if (exported.Family.Remove(exported))
            {
                _families.Remove(exported.Family.Name);
                PublishSorted();
            }
        }
    }

    /// <summary>
    /// A meter created by a DI container's <see cref="IMeterFactory"/> carries that factory as its
    /// scope: export only our own container's (another host in the process has its own Kestrel and
    /// ASP.NET Core meters), plus the process-wide meters that have no scope.
    /// </summary>
    private bool Exports(Meter meter) =>
        ReferenceEquals(meter, _processMeter)
        || ((meter.Scope is null || ReferenceEquals(meter.Scope, _meterFactory)) && meter.Name != ProcessMeterName && _filter.Matches(meter.Name));

    private void PublishSorted() =>
        Volatile.Write(ref _sorted, _families.Values.OrderBy(f => f.Name, StringComparer.Ordinal).ToArray());

    private static double ProcessStartTime()
    {
        using var process = Process.GetCurrentProcess();
        return (process.StartTime.ToUniversalTime() - DateTime.UnixEpoch).TotalSeconds;
    }
}
