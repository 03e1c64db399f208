namespace ControlPlane.Interop.Tests.Infrastructure;

/// <summary>What one call put on the wire that the gRPC API hides: grpc-encoding headers and compressed-flag bytes.</summary>
public sealed class WireExchange(string path, string? requestEncoding, byte? requestFlag)
{
    private volatile int _responseFlag = -1;

    public string Path { get; } = path;

    /// <summary>The request's grpc-encoding header.</summary>
    public string? RequestEncoding { get; } = requestEncoding;

    /// <summary>The compressed flag of the (unary) request message; null for a streamed request body.</summary>
    public byte? RequestFlag { get; } = requestFlag;

    /// <summary>The response's grpc-encoding header.</summary>
    public string? ResponseEncoding { get; internal set; }

    /// <summary>The compressed flag of the first response message; null when none arrived.</summary>
    public byte? ResponseFlag => _responseFlag < 0 ? null : (byte)_responseFlag;

    internal void OnFirstResponseByte(byte value) => Interlocked.CompareExchange(ref _responseFlag, value, -1);
}
