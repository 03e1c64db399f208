using System.Globalization;
using System.Text;
using ControlPlane.Benchmarks.Measurement;
using ControlPlane.Benchmarks.Reporting;

namespace ControlPlane.Benchmarks.Registry;

/// <summary>Renders the results as markdown for this benchmark's section of docs/benchmarks.md.</summary>
internal static class RegistryReport
{
    public const string Heading = "## Registry on the embedded store (issue 3)";

    /// <summary>Target names, in the order every comparison lists them.</summary>
    public const string Registry = "registry over gRPC";
    public const string Baseline = "transport baseline";
    public const string InProcess = "in-process registry";
    public const string LeanRegistry = "registry over gRPC, lean client";
    public const string LeanBaseline = "transport baseline, lean client";

    private const string OurClient = "our GrpcChannel";
    private const string LeanClient = "lean HTTP/2 client";

    public static string Section(RegistrySettings s, DateTimeOffset date, string loadAverage, Comparison? registrations, Comparison? heartbeats, MemoryPerInstance? memory)
    {
        var md = new StringBuilder();
        md.AppendLine(Heading).AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"`{s.Command}`").AppendLine();
        md.AppendLine(BenchmarksDocument.MachineLine(date) + $" Load average (1, 5, 15 min) at the start: {loadAverage}.");
        md.AppendLine(CultureInfo.InvariantCulture,
            $"Each target warmed up until steady, then {s.Rounds} alternating rounds of {s.Duration.TotalSeconds:0.#} s; medians. The load generator runs in the same process as the control plane.").AppendLine();

        md.AppendLine("| metric | load generator | registry over gRPC | transport baseline | ratio | in-process registry | aim | aim met |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|---|");
        Row(md, "registrations/s", OurClient, registrations, Registry, Baseline, RegistrySettings.RegistrationsAim);
        Row(md, "registrations/s", LeanClient, registrations, LeanRegistry, LeanBaseline, RegistrySettings.RegistrationsAim);
        Row(md, "instance heartbeats/s", OurClient, heartbeats, Registry, Baseline, RegistrySettings.HeartbeatsAim);
        md.AppendLine();

        if (memory is not null)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"Managed memory per registered instance, {memory.Instances:N0} instances (aim: under {RegistrySettings.BytesPerInstanceAim:N0} bytes):").AppendLine();
            md.AppendLine("| when | bytes per instance | aim met |");
            md.AppendLine("|---|---:|---|");
            MemoryRow(md, "registered", memory.Registered);
            MemoryRow(md, "after one heartbeat for each", memory.AfterOneRound);
            MemoryRow(md, $"after {memory.Rounds} heartbeats for each (deadline heap compacted once)", memory.AfterRounds);
            md.AppendLine();
        }

        md.AppendLine(CultureInfo.InvariantCulture, $"""
            The issue's aims are for this {Environment.ProcessorCount}-core machine with the load generator beside the control plane:
            {RegistrySettings.RegistrationsAim:N0} registrations/s, {RegistrySettings.HeartbeatsAim:N0} instance heartbeats/s, under 2 KB per instance.

            How to read it: *registry over gRPC* is the control-plane host as `ControlPlaneHost.Build` makes it
            (Kestrel h2c on loopback, request-id middleware, admin-token interceptor, logging at Warning) on the
            embedded store, in this process; the load generator, beside it, is our `GrpcChannel` or, for
            registrations, also a lean HTTP/2 client (`tests/ControlPlane.Benchmarks/Http2/LeanUnaryClient.cs`:
            a plain socket, headers encoded once, streams pipelined, one send per read; it checks each answer's
            `registered` and `created` fields). The lean client plays h2load's part in the gRPC runtime benchmark,
            which cannot send a different registration on every call: our `GrpcChannel` takes about half the
            machine's CPU at these rates, the lean client a small share, so its row is the control plane's own rate
            with a load generator beside it.
            *Registrations* are {s.Connections} connections × {s.CallsPerConnection} concurrent unary `Register` calls, each for a new
            instance: its own id and host:port, a name and image of 32 services, a region, metadata
            `{"{"}"weight": 2{"}"}`, TTL 30 s. The instances a run registered are deregistered after its window, so every
            run starts on the same store (and, after a full collection, the same heap). *Heartbeats*: {s.Instances:N0} instances are registered first, then
            {s.Streams} `HeartbeatStream` calls over the {s.Connections} connections each renew their own slice of them, {Fleet.BeatSize:N0} ids
            per beat, {s.InFlight} beats sent ahead of their answers; what counts is results `RENEWED`.
            *Transport baseline* is the same host, listener, middleware, interceptor, client and call shapes
            against `bench.v1.RegistryBaselineService`, mapped beside the registry, whose handler does no
            registry work: it answers each call or beat with a copy of an answer the registry gave, so the
            answers have the registry's sizes (checked before measuring, within 5%). The ratio is registry /
            baseline: the share of the transport's rate that the registry keeps. *In-process registry* calls the
            host's `ServiceRegistry.RegisterAsync` or `BeatAsync` directly from {Environment.ProcessorCount} callers (one per core): no
            network, no serialization; the ceiling of the registry and its store on this machine.
            *Memory*: `GC.GetTotalMemory` after forced full compacting collections, before and after registering
            into a fresh `ServiceRegistry` and `InMemoryRegistryStore` from requests parsed from their wire bytes,
            as the server gets them. Renewals push new deadlines into the store's heap and leave the old ones
            there until it compacts them (past 4 × live + 1,024 entries); the heap's array keeps its largest size.
            """);
        md.AppendLine();

        var compared = new[] { ("registration", registrations), ("instance heartbeat", heartbeats) }.Where(c => c.Item2 is not null).ToArray();
        if (compared.Length > 0)
        {
            md.AppendLine("What each target cost the whole process, load generator and server together, during the window (medians):").AppendLine();
            md.AppendLine("| operation | target | allocated per operation, bytes | cores busy | time in GC pauses |");
            md.AppendLine("|---|---|---:|---:|---:|");
            foreach (var (operation, comparison) in compared)
            {
                foreach (var t in comparison!.Targets)
                {
                    md.AppendLine(CultureInfo.InvariantCulture, $"| {operation} | {t.Name} | {t.BytesPerOp:N0} | {t.CoresBusy:0.00} | {t.GcPauseShare * 100:0}% |");
                }
            }
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"""
                Rows of one operation differ only in the handler's work, so the registry's allocations per
                operation are the registry row minus the baseline row. *Cores busy* is the process's CPU time
                over the window, the thread pool's spinning included: at {Environment.ProcessorCount:0.00} the rate is bound by this
                machine's cores (and CPU time per operation says nothing more than cores / rate). *Time in GC
                pauses* is the share of the window in which the runtime had the process's threads stopped for
                garbage collection.
                """);
            md.AppendLine();
            md.AppendLine("Per-round values:").AppendLine();
            foreach (var (_, c) in compared)
            {
                var rounds = string.Join("; ", c!.Targets.Select(t => t.Name + " " + string.Join(", ", t.Samples.Select(v => v.Rate.ToString("N0", CultureInfo.InvariantCulture)))));
                md.AppendLine(CultureInfo.InvariantCulture, $"- {c.Metric}: {rounds}");
            }
        }
        return md.ToString();
    }

    private static void Row(StringBuilder md, string metric, string client, Comparison? c, string registryName, string baselineName, double aim)
    {
        if (c is null || c.Targets.FirstOrDefault(t => t.Name == registryName) is not { } registry)
        {
            return;
        }
        var baseline = c.Targets.Single(t => t.Name == baselineName);
        var inProcess = c.Targets.Single(t => t.Name == InProcess);
        md.AppendLine(CultureInfo.InvariantCulture,
            $"| {metric} | {client} | {registry.Median:N0} | {baseline.Median:N0} | {registry.Median / baseline.Median:0.00} | {inProcess.Median:N0} | {aim:N0} | {(registry.Median >= aim ? "yes" : "no")} |");
    }

    private static void MemoryRow(StringBuilder md, string when, double bytes) =>
        md.AppendLine(CultureInfo.InvariantCulture, $"| {when} | {bytes:N0} | {(bytes < RegistrySettings.BytesPerInstanceAim ? "yes" : "no")} |");
}
