using System.IO.Compression;
using ControlPlane.Grpc.Compression;

namespace ControlPlane.Grpc.Server;

/// <summary>Server-wide settings of the gRPC runtime.</summary>
public sealed class GrpcServerOptions
{
    /// <summary>Largest message accepted from a client; larger ones end the call with RESOURCE_EXHAUSTED. Default 4 MiB.</summary>
    public int MaxReceiveMessageSize { get; set; } = Protocol.GrpcProtocol.DefaultMaxMessageSize;

    /// <summary>Largest message a handler may send; larger ones end the call with RESOURCE_EXHAUSTED. Default 4 MiB.</summary>
    public int MaxSendMessageSize { get; set; } = Protocol.GrpcProtocol.DefaultMaxMessageSize;

    /// <summary>Put exception messages in UNKNOWN statuses. For development only: they may leak internals.</summary>
    public bool EnableDetailedErrors { get; set; }

    /// <summary>Compress responses with this encoding when the client accepts it (null: only when a handler asks).</summary>
    public string? ResponseCompressionAlgorithm { get; set; }

    public CompressionLevel ResponseCompressionLevel { get; set; } = CompressionLevel.Fastest;

    public CompressionProviders CompressionProviders { get; set; } = CompressionProviders.Default;

    /// <summary>Interceptor types, resolved from DI (or created) per server, outermost first.</summary>
    public IList<Type> Interceptors { get; private set; } = [];

    /// <summary>Clock for deadlines; tests inject a fake.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>A copy whose settings and interceptor list can change without touching these.</summary>
    internal GrpcServerOptions Copy()
    {
        var copy = (GrpcServerOptions)MemberwiseClone();
        copy.Interceptors = [.. Interceptors];
        return copy;
    }

    public GrpcServerOptions AddInterceptor<T>() where T : IServerInterceptor
    {
        Interceptors.Add(typeof(T));
        return this;
    }
}
