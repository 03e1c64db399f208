using System.Collections.Concurrent;
using ControlPlane.Grpc.Client;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Sdk.Internal;

/// <summary>
/// One <see cref="GrpcChannel"/> per address for the client's lifetime. gRPC channels are meant to
/// be long-lived and shared (they pool HTTP/2 connections); the heartbeat and watch streams outlive
/// any handler rotation, which is why the SDK keeps its own channels instead of
/// IHttpClientFactory-rotated ones (lib/ControlPlane.Grpc's AddGrpcClient).
/// </summary>
internal sealed class ChannelPool(ControlPlaneClientOptions options, TimeProvider time, ILoggerFactory? loggerFactory) : IDisposable
{
    private readonly ConcurrentDictionary<Uri, Lazy<GrpcChannel>> _channels = new();
    private volatile bool _disposed;

    public GrpcChannel Get(Uri address)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _channels.GetOrAdd(address, a => new Lazy<GrpcChannel>(() => Create(a))).Value;
    }

    private GrpcChannel Create(Uri address)
    {
        var channelOptions = new GrpcChannelOptions
        {
            TimeProvider = time,
            ConnectTimeout = options.ConnectTimeout,
            // Watch and heartbeat streams sit idle between messages: keep their connection checked.
            KeepAliveWithoutCalls = true,
            KeepAlivePingDelay = options.KeepAliveInterval,
            KeepAlivePingTimeout = options.KeepAliveTimeout,
            // A state-of-the-world discovery response of a large fleet can pass gRPC's usual 4 MiB; the
            // control plane sends up to its ControlPlane:Discovery:MaxResponseBytes (64 MiB).
            MaxReceiveMessageSize = 64 << 20,
            // A delta resume names every resource the node holds, which passes 4 MiB from about 90,000.
            MaxSendMessageSize = 16 << 20,
            LoggerFactory = loggerFactory,
        };
        options.ConfigureChannel?.Invoke(channelOptions);
        return GrpcChannel.ForAddress(address, channelOptions);
    }

    public void Dispose()
    {
        _disposed = true;
        foreach (var channel in _channels.Values)
        {
            if (channel.IsValueCreated)
            {
                channel.Value.Dispose();
            }
        }
        _channels.Clear();
    }
}
