using System.Diagnostics.Metrics;
using ControlPlane.Server.Stats;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Server.Tests.Stats;

/// <summary>
/// Released each time one host's control plane has handled a load report (its
/// <c>controlplane.stats.load_reports</c> counter moved): a signal to re-check state, never a sleep.
/// Only that host's meter is heard, though other tests' hosts run in the same process.
/// </summary>
internal sealed class ReportSignal : IDisposable
{
    private readonly MeterListener _listener = new();

    public ReportSignal(IServiceProvider services)
    {
        var factory = services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == StatsMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Name == "controlplane.stats.load_reports")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, _, _, _) => Handled.Release());
        _listener.Start();
    }

    public SemaphoreSlim Handled { get; } = new(0);

    public void Dispose()
    {
        _listener.Dispose();
        Handled.Dispose();
    }
}
