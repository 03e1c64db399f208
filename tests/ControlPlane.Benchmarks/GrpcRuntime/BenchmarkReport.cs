using System.Globalization;
using System.Text;
using ControlPlane.Benchmarks.Measurement;
using ControlPlane.Benchmarks.Reporting;

namespace ControlPlane.Benchmarks.GrpcRuntime;

/// <summary>Renders the results as markdown and replaces this benchmark's section of docs/benchmarks.md.</summary>
internal static class BenchmarkReport
{
    public const string Heading = "## gRPC runtime vs raw Kestrel (issue 2)";

    /// <summary>The aim: our runtime at this fraction of the raw ceiling or better.</summary>
    public const double Target = 0.8;

    public static string Section(GrpcRuntimeSettings settings, string h2loadVersion, DateTimeOffset date, IReadOnlyList<Comparison> server, Comparison? client)
    {
        var md = new StringBuilder();
        md.AppendLine(Heading).AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"`{settings.Command}`").AppendLine();
        md.AppendLine(BenchmarksDocument.MachineLine(date, h2loadVersion));
        md.AppendLine(CultureInfo.InvariantCulture, $"{settings.PayloadSize}-byte payloads; each target warmed up until steady, then {settings.Rounds} alternating rounds of {settings.Duration.TotalSeconds:0.#} s; medians.").AppendLine();
        md.AppendLine("| metric | ours | raw ceiling | ratio |");
        md.AppendLine("|---|---:|---:|---:|");
        foreach (var c in server)
        {
            var ours = c.Targets[0];
            md.AppendLine(CultureInfo.InvariantCulture, $"| {c.Metric} | {ours.Median:N0} | {c.Baseline.Median:N0} | {Ratio(c.Ratio(ours))} |");
        }
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"""
            How to read it: *ours* is Kestrel running our gRPC runtime (`lib/ControlPlane.Grpc`) with handlers that
            do nothing but answer; *raw ceiling* is Kestrel in the same process with plain `MapPost` handlers that put
            the same bytes on the wire (checked before measuring: headers, length-prefixed messages, one flush per
            streamed message, `grpc-status: 0` trailer) and do none of the runtime's work. The ratio is ours / raw;
            the issue aims for {Target:0.0} or more. Both servers get the same load generator: h2load, in its own
            process, for unary calls ({settings.Connections} connections × {settings.Streams} streams); for streams, a plain
            SocketsHttpHandler client in this process ({settings.Connections} connections × {settings.StreamingCalls} calls) that writes
            pre-framed bytes and counts what it reads. Client and servers share the {Environment.ProcessorCount} cores, so the ceiling is the
            stack's on this machine, not the server's alone. Rows: unary = echo of one message; server-streamed =
            {settings.MessagesPerCall:N0} messages per call, as fast as the server writes them; client-streamed = the client writes
            batches of messages and the server counts them (ours parses each into a protobuf message, raw only
            walks the length prefixes); ping-pong = one message each way per round trip on a bidirectional stream.
            """);
        md.AppendLine();
        foreach (var c in server.Where(c => c.Targets.All(t => t.CpuMicrosecondsPerOp is not null && t.BytesPerOp is not null)))
        {
            var ours = c.Targets[0];
            md.AppendLine(CultureInfo.InvariantCulture,
                $"Server cost of one {c.Metric[..c.Metric.IndexOf(' ', StringComparison.Ordinal)]} call (this process's CPU time and allocations during the h2load runs, which only the servers use; medians):").AppendLine();
            md.AppendLine("| per call | ours | raw ceiling |");
            md.AppendLine("|---|---:|---:|");
            md.AppendLine(CultureInfo.InvariantCulture, $"| CPU time, µs | {ours.CpuMicrosecondsPerOp:0.0} | {c.Baseline.CpuMicrosecondsPerOp:0.0} |");
            md.AppendLine(CultureInfo.InvariantCulture, $"| allocated, bytes | {ours.BytesPerOp:N0} | {c.Baseline.BytesPerOp:N0} |");
            md.AppendLine();
        }
        if (client is not null)
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"Client overhead (informational): unary calls/s against the raw server, {settings.Connections} connections × {settings.Streams} concurrent calls, by client.").AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"| client | calls/s | ratio to {client.Baseline.Name} |");
            md.AppendLine("|---|---:|---:|");
            foreach (var t in client.Targets)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"| {t.Name} | {t.Median:N0} | {Ratio(client.Ratio(t))} |");
            }
            md.AppendLine();
            md.AppendLine("""
                h2load is C in its own process; the other two run in this process beside the server, so they share its
                cores. *raw SocketsHttpHandler* sends the same request bytes and headers as our client and reads the
                response to its trailers, with none of our client's work: it is our client's ceiling.
                """);
            md.AppendLine();
        }
        md.AppendLine("Per-round values:").AppendLine();
        foreach (var c in client is null ? server : server.Append(client))
        {
            var rounds = string.Join("; ", c.Targets.Select(t => t.Name + " " + string.Join(", ", t.Samples.Select(v => v.Rate.ToString("N0", CultureInfo.InvariantCulture)))));
            md.AppendLine(CultureInfo.InvariantCulture, $"- {c.Metric}: {rounds}");
        }
        return md.ToString();
    }


    private static string Ratio(double ratio) => ratio.ToString("0.00", CultureInfo.InvariantCulture);
}
