using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using ControlPlane.Api.V1;
using ControlPlane.Server.Resources;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using ControlPlane.Benchmarks.GrpcRuntime;
using ApiEndpoint = ControlPlane.Api.V1.Endpoint;

namespace ControlPlane.Benchmarks.Fanout;

/// <summary>
/// The fan-out benchmark's ceiling: Kestrel doing its share of a push and its ACK, and none of the
/// protocol's work, run by the benchmark in a process of its own in place of the control plane
/// (<see cref="ControlPlaneDiscoveryTarget"/>, same client, same ports and metric names). It serves one
/// HTTP/2 stream per node at the DeltaResources path: the first request is answered with the current
/// response; on each <c>Register</c> it serializes one response (the endpoint set listing every instance
/// registered so far) and writes the same framed bytes to every stream, whose ACKs it reads and drops
/// without parsing them. Not a control plane: one nonce for every stream, no versions kept, no
/// subscriptions; it answers what the benchmark sends and nothing else.
/// </summary>
internal static class BareKestrelFanoutServer
{
    public const string CommandName = "fanout-bare-kestrel-server";

    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var configuration = new ConfigurationBuilder().AddCommandLine(args).Build();
        int grpcPort = int.Parse(configuration["ControlPlane:GrpcPort"]!, CultureInfo.InvariantCulture);
        int httpPort = int.Parse(configuration["ControlPlane:HttpPort"]!, CultureInfo.InvariantCulture);
        int maxStreams = int.Parse(configuration["ControlPlane:MaxStreamsPerConnection"] ?? "100", CultureInfo.InvariantCulture);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.Http2.MaxStreamsPerConnection = maxStreams;
            kestrel.Limits.MaxRequestBodySize = null; // streams outlive the default 30 MB, as the control plane's do
            kestrel.Limits.MinRequestBodyDataRate = null;
            kestrel.Listen(IPAddress.Loopback, grpcPort, listen => listen.Protocols = HttpProtocols.Http2);
            kestrel.Listen(IPAddress.Loopback, httpPort, listen => listen.Protocols = HttpProtocols.Http1);
        });
        await using var app = builder.Build();
        var hub = new Hub();
        app.MapGet("/readyz", () => "ok");
        app.MapGet("/version", () => Results.Json(new Dictionary<string, string> { ["version"] = ".NET " + Environment.Version, ["git_sha"] = "unknown" }));
        app.MapGet("/metrics", () => hub.Metrics());
        app.MapPost("/grpc.health.v1.Health/Check", async context =>
        {
            await ReadMessageAsync(context.Request.BodyReader);
            await AnswerAsync(context, new global::Grpc.Health.V1.HealthCheckResponse { Status = global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving });
        });
        app.MapPost(Path("RegistryService", "Register"), async context =>
        {
            hub.Register(RegisterRequest.Parser.ParseFrom(await ReadMessageAsync(context.Request.BodyReader)));
            await AnswerAsync(context, new RegisterResponse { Registered = 1, Created = true });
        });
        app.MapPost(DeltaNodeClient.DeltaResources.Path, hub.ServeAsync);
        await app.StartAsync(cancellationToken);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Ctrl-C or SIGTERM: stop serving.
        }
        return 0;
    }

    private static string Path(string service, string method) => $"/controlplane.v1.{service}/{method}";

    private static async Task AnswerAsync(HttpContext context, IMessage message)
    {
        context.Response.ContentType = GrpcFrames.ContentType;
        await context.Response.BodyWriter.WriteAsync(GrpcFrames.Frame(message));
        context.Response.AppendTrailer(GrpcFrames.StatusHeader, "0");
    }

    private static async Task<byte[]> ReadMessageAsync(PipeReader reader)
    {
        while (true)
        {
            var result = await reader.ReadAsync();
            var buffer = result.Buffer;
            if (GrpcFrames.TryReadFrame(ref buffer, out var frame))
            {
                var message = frame.Slice(GrpcFrames.HeaderSize).ToArray();
                reader.AdvanceTo(buffer.Start);
                return message;
            }
            if (result.IsCompleted)
            {
                throw new IOException("The request ended before its message.");
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>The current response, and a task completed (and replaced) when the next one is published.</summary>
    private sealed class Hub
    {
        private readonly Lock _lock = new();
        private readonly List<ApiEndpoint> _endpoints = [];
        private byte[]? _current;
        private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _streams;

        public string Metrics()
        {
            int resources;
            lock (_lock)
            {
                resources = _current is null ? 0 : 1;
            }
            return string.Create(CultureInfo.InvariantCulture,
                $"controlplane_discovery_resources{{type=\"EndpointSet\"}} {resources}\n" +
                $"controlplane_discovery_streams{{variant=\"delta\"}} {Volatile.Read(ref _streams)}\n" +
                $"dotnet_gc_collections_total{{gc_heap_generation=\"gen2\"}} {GC.CollectionCount(2)}\n" +
                $"dotnet_gc_last_collection_heap_size_bytes {GC.GetGCMemoryInfo(GCKind.Any).HeapSizeBytes}\n");
        }

        /// <summary>Adds the instance and publishes the endpoint set listing every one, serialized once.</summary>
        public void Register(RegisterRequest request)
        {
            TaskCompletionSource published;
            lock (_lock)
            {
                _endpoints.Add(new ApiEndpoint
                {
                    InstanceId = request.InstanceId, ServiceName = request.Name, Host = request.Host, Port = request.Port,
                    Weight = 1, Region = request.Region, Status = "healthy", Metadata = request.Metadata,
                });
                var set = new EndpointSet { Image = request.Image, Endpoints = { _endpoints } };
                var version = _endpoints.Count.ToString(CultureInfo.InvariantCulture);
                var response = new DeltaResourcesResponse { TypeUrl = ResourceTypes.EndpointSet, SystemVersionInfo = version, Nonce = "n" + version };
                response.Resources.Add(new Resource { Name = request.Image, Version = version, Resource_ = Any.Pack(set) });
                _current = GrpcFrames.Frame(response);
                published = _next;
                _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            published.SetResult();
        }

        private (byte[]? Current, Task Next) Snapshot()
        {
            lock (_lock)
            {
                return (_current, _next.Task);
            }
        }

        /// <summary>One node's stream: the current response, then each one published, until the node leaves.</summary>
        public async Task ServeAsync(HttpContext context)
        {
            Interlocked.Increment(ref _streams);
            try
            {
                context.Response.ContentType = GrpcFrames.ContentType;
                var requests = context.Request.BodyReader;
                await ReadMessageAsync(requests);
                var acks = DropAllAsync(requests);
                var (current, next) = Snapshot();
                while (true)
                {
                    if (current is not null)
                    {
                        await context.Response.BodyWriter.WriteAsync(current);
                    }
                    if (await Task.WhenAny(next, acks) == acks)
                    {
                        break;
                    }
                    (current, next) = Snapshot();
                }
                context.Response.AppendTrailer(GrpcFrames.StatusHeader, "0");
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or Microsoft.AspNetCore.Connections.ConnectionResetException)
            {
                // The node left.
            }
            finally
            {
                Interlocked.Decrement(ref _streams);
            }
        }

        /// <summary>Reads the node's requests (its ACKs) until it half-closes, dropping them.</summary>
        private static async Task DropAllAsync(PipeReader requests)
        {
            while (true)
            {
                var result = await requests.ReadAsync();
                var buffer = result.Buffer;
                while (GrpcFrames.TryReadFrame(ref buffer, out _))
                {
                }
                requests.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
    }
}
