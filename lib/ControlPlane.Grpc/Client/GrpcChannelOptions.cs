using System.IO.Compression;
using System.Net.Security;
using ControlPlane.Grpc.Compression;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Grpc.Client;

/// <summary>Settings of a <see cref="GrpcChannel"/>.</summary>
public sealed class GrpcChannelOptions
{
    /// <summary>Send calls through this handler instead of the channel's own SocketsHttpHandler.</summary>
    public HttpMessageHandler? HttpHandler { get; set; }

    /// <summary>Dispose <see cref="HttpHandler"/> with the channel.</summary>
    public bool DisposeHttpHandler { get; set; }

    /// <summary>Largest response message accepted; larger ones end the call with RESOURCE_EXHAUSTED. Default 4 MiB.</summary>
    public int MaxReceiveMessageSize { get; set; } = Protocol.GrpcProtocol.DefaultMaxMessageSize;

    /// <summary>Largest request message sent; larger ones fail with RESOURCE_EXHAUSTED before sending. Default 4 MiB.</summary>
    public int MaxSendMessageSize { get; set; } = Protocol.GrpcProtocol.DefaultMaxMessageSize;

    public CompressionProviders CompressionProviders { get; set; } = CompressionProviders.Default;

    /// <summary>Compress every request with this encoding unless a call says otherwise.</summary>
    public string? RequestCompression { get; set; }

    public CompressionLevel CompressionLevel { get; set; } = CompressionLevel.Fastest;

    /// <summary>Open more HTTP/2 connections when one reaches the server's concurrent stream limit.</summary>
    public bool EnableMultipleHttp2Connections { get; set; } = true;

    /// <summary>Send an HTTP/2 PING after this much inactivity (keeps NATs open, finds dead peers). Infinite disables.</summary>
    public TimeSpan KeepAlivePingDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Close the connection when a PING is not answered in this time.</summary>
    public TimeSpan KeepAlivePingTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Ping even when no call is active (long-lived idle watch streams need it).</summary>
    public bool KeepAliveWithoutCalls { get; set; }

    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>TLS settings for https addresses (certificate validation, client certificates).</summary>
    public SslClientAuthenticationOptions? SslOptions { get; set; }

    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    public ILoggerFactory? LoggerFactory { get; set; }
}
