using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using ControlPlane.Api.V1;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Tests.Discovery.Fakes;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Server.Tests.Discovery;

/// <summary>The ControlPlane.Discovery instruments: pushes, push and ACK latency, NACKs, streams, nodes, queued resources.</summary>
public sealed class DiscoveryMetricsTests
{
    [Fact]
    public async Task PushesLatenciesNacksAndGauges_AreMeasured()
    {
        await using var host = await DiscoveryHost.StartAsync();
        var factory = host.Services.GetRequiredService<IMeterFactory>();
        var measurements = new ConcurrentQueue<(string Name, double Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "ControlPlane.Discovery" && ReferenceEquals(instrument.Meter.Scope, factory))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        void Record<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state) =>
            measurements.Enqueue((instrument.Name, Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture), new Dictionary<string, object?>(tags.ToArray())));
        listener.SetMeasurementEventCallback<long>(Record);
        listener.SetMeasurementEventCallback<int>(Record);
        listener.SetMeasurementEventCallback<double>(Record);
        listener.Start();

        await using var node = await FakeDeltaNode.ConnectInMemoryAsync(host, "node-1", new FakeNodeOptions
        {
            Reject = r => EndpointSet.Parser.ParseFrom(r.Resource_.Value).Endpoints.Any(e => e.Port == 6666) ? "port 6666 is reserved" : null,
        });
        await node.SubscribeAsync(ResourceTypes.EndpointSet, "*");
        await node.WaitUntilAsync(() => node.ResponsesOnStream(ResourceTypes.EndpointSet) == 1, "the first answer");
        await host.RegisterAsync("a1", "img.a", 8081);
        await node.WaitUntilAsync(() => node.HoldsCurrent(host.Cache, ResourceTypes.EndpointSet), "img.a");
        await host.RegisterAsync("a2", "img.a", 6666);
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ RejectionError: not null }] }], "the NACK");
        listener.RecordObservableInstruments();

        double Sum(string name, string? tag = null, string? value = null) =>
            measurements.Where(m => m.Name == name && (tag is null || Equals(m.Tags.GetValueOrDefault(tag), value))).Sum(m => m.Value);

        Assert.Equal(3, Sum("controlplane.discovery.pushes", "variant", "delta"));
        Assert.Equal(3, Sum("controlplane.discovery.pushes", "type", "EndpointSet"));
        Assert.Equal(2, measurements.Count(m => m.Name == "controlplane.discovery.push.latency")); // the two change-driven pushes
        Assert.Single(measurements, m => m.Name == "controlplane.discovery.ack.latency");
        Assert.Equal(1, Sum("controlplane.discovery.nacks", "type", "EndpointSet"));
        Assert.Equal(1, Sum("controlplane.discovery.streams", "variant", "delta"));
        Assert.Equal(0, Sum("controlplane.discovery.streams", "variant", "sotw"));
        Assert.Equal(1, Sum("controlplane.discovery.nodes"));
        Assert.Equal(0, Sum("controlplane.discovery.queued_resources"));
        Assert.Equal(1, Sum("controlplane.discovery.resources", "type", "EndpointSet"));
        Assert.True(Sum("controlplane.discovery.cache.changes") >= 2);
    }
}
