using System.Diagnostics;
using System.Globalization;
using System.Text;
using ControlPlane.Api.V1;
using ControlPlane.Benchmarks.Fanout;
using ControlPlane.Benchmarks.Http2;
using ControlPlane.Grpc.Client;
using ControlPlane.Server.Resources;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Benchmarks.Redis;

/// <summary>
/// How long a change made through replica A takes to reach a node watching replica B, beside a node
/// watching A itself: one watcher on each, a DeltaResources stream subscribed to the watched image's
/// endpoint set on the fan-out benchmark's lean HTTP/2 client (<see cref="LeanStreamConnection"/>),
/// each acknowledging every response. A change is a Register of a new instance of that image through
/// A; a watcher has it when its stream delivers the endpoint set listing the new instance. On B this
/// is Redis's pub/sub to B, B's change follower and B's discovery push; on A, A's own push after its
/// write (which also comes back to it through pub/sub).
/// </summary>
internal sealed class CrossReplicaConvergence : IAsyncDisposable
{
    public const string Image = "img.redis.watched";
    private const int FirstPort = 30_000;

    private static readonly Method<RegisterRequest, RegisterResponse> Register =
        new(RegistryReflection.Descriptor.Services[0].FindMethodByName("Register"));

    private readonly GrpcChannel _writer;
    private readonly LeanStreamConnection[] _connections;
    private readonly ConvergenceRecorder _recorder = new(2);
    private readonly TaskCompletionSource[] _opened = [new(TaskCreationOptions.RunContinuationsAsynchronously), new(TaskCreationOptions.RunContinuationsAsynchronously)];
    private volatile string? _expected;
    private volatile bool _closing;
    private int _changes;

    private CrossReplicaConvergence(GrpcChannel writer, LeanStreamConnection[] connections)
    {
        _writer = writer;
        _connections = connections;
    }

    /// <summary>The watcher on A is watcher 0, the one on B watcher 1.</summary>
    public static async Task<CrossReplicaConvergence> StartAsync(Uri a, Uri b, CancellationToken ct)
    {
        var writer = GrpcChannel.ForAddress(a);
        var connections = new List<LeanStreamConnection>();
        CrossReplicaConvergence? convergence = null;
        try
        {
            connections.Add(await LeanStreamConnection.ConnectAsync(a, ct));
            connections.Add(await LeanStreamConnection.ConnectAsync(b, ct));
            convergence = new CrossReplicaConvergence(writer, [.. connections]);
            // The state both watchers hold before anything is timed: the image with one instance.
            await writer.AsyncUnaryCall(Register, Registration(InstanceId(0)), new CallOptions(cancellationToken: ct));
            for (var i = 0; i < 2; i++)
            {
                var watcher = i;
                var subscribe = new DeltaResourcesRequest
                {
                    Node = new Node { Id = $"redis-bench-watcher-{(char)('a' + i)}", UserAgentName = "controlplane-benchmark" },
                    TypeUrl = ResourceTypes.EndpointSet,
                    ResourceNamesSubscribe = { Image },
                };
                await connections[i].OpenAsync(DeltaNodeClient.DeltaResources.Path, subscribe, m => convergence.OnMessage(watcher, m), ex => convergence.OnFailed(watcher, ex), ct);
            }
            // B holds the image once its follower applied A's write: the first answer may be empty before that.
            await Task.WhenAll(convergence._opened.Select(o => o.Task)).WaitAsync(TimeSpan.FromSeconds(30), ct);
            return convergence;
        }
        catch
        {
            if (convergence is not null)
            {
                await convergence.DisposeAsync();
            }
            else
            {
                foreach (var connection in connections)
                {
                    await connection.DisposeAsync();
                }
                writer.Dispose();
            }
            throw;
        }
    }

    /// <summary>One change through A; the time until the watcher on A and the one on B had it, and until A answered the write.</summary>
    public async Task<(TimeSpan OnA, TimeSpan OnB, TimeSpan Answered)> MeasureOneChangeAsync(TimeSpan timeout, CancellationToken ct)
    {
        var change = ++_changes;
        var registration = Registration(InstanceId(change));
        _expected = registration.InstanceId;
        var answered = await _recorder.RegisterAsync(_writer, registration, ct);
        var times = await _recorder.WaitAsync(timeout, ct);
        return (times[0], times[1], answered);
    }

    private DeltaResourcesRequest OnMessage(int watcher, ReadOnlyMemory<byte> message)
    {
        var response = DeltaResourcesResponse.Parser.ParseFrom(message.Span);
        var opened = _opened[watcher];
        if (!opened.Task.IsCompleted)
        {
            if (Lists(response, InstanceId(0)))
            {
                opened.TrySetResult();
            }
        }
        else if (_expected is not { } expected || !Lists(response, expected))
        {
            throw new InvalidOperationException($"Watcher {watcher} received a response that is not the change being measured ({_expected ?? "none"}).");
        }
        else
        {
            _recorder.Received(watcher);
        }
        return new DeltaResourcesRequest { TypeUrl = response.TypeUrl, ResponseNonce = response.Nonce };
    }

    private void OnFailed(int watcher, Exception ex)
    {
        if (!_closing)
        {
            _opened[watcher].TrySetException(ex);
            _recorder.Fail(ex);
        }
    }

    /// <summary>The response carries the image's endpoint set and its encoded content holds the instance id (searched, not decoded, as the fan-out benchmark does).</summary>
    private static bool Lists(DeltaResourcesResponse response, string instanceId)
    {
        var id = Encoding.UTF8.GetBytes(instanceId);
        return response.Resources.Any(r => r.Name == Image && r.Resource_.Value.Span.IndexOf(id) >= 0);
    }

    private static string InstanceId(int change) => "redis-watched-" + change.ToString("D5", CultureInfo.InvariantCulture);

    private static RegisterRequest Registration(string instanceId) => new()
    {
        Name = "svc-redis-watched",
        Image = Image,
        InstanceId = instanceId,
        Host = "10.0.0.2",
        Port = FirstPort + int.Parse(instanceId.AsSpan(instanceId.Length - 5), CultureInfo.InvariantCulture),
        Region = "eu-central",
        Metadata = new Struct { Fields = { ["weight"] = Value.ForNumber(2) } },
        TtlSeconds = 3600,
    };

    public async ValueTask DisposeAsync()
    {
        _closing = true;
        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }
        _writer.Dispose();
    }
}
