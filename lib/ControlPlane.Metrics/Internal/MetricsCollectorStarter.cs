using Microsoft.Extensions.Hosting;

namespace ControlPlane.Metrics.Internal;

/// <summary>Starts the collector with the host, before Kestrel accepts the first request, so no early measurement is missed.</summary>
internal sealed class MetricsCollectorStarter(MetricsCollector collector) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        collector.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
