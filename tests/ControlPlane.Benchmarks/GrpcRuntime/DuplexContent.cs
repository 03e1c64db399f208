using System.Net;

namespace ControlPlane.Benchmarks.GrpcRuntime;

/// <summary>
/// A request body written while the response is read (full duplex on one HTTP/2 stream):
/// SocketsHttpHandler hands over the request stream, which stays open until <see cref="Complete"/>.
/// </summary>
internal sealed class DuplexContent : HttpContent
{
    private readonly TaskCompletionSource<Stream> _stream = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public DuplexContent() => Headers.TryAddWithoutValidation("content-type", GrpcFrames.ContentType);

    public Task<Stream> RequestStream => _stream.Task;

    /// <summary>Ends the request stream (END_STREAM).</summary>
    public void Complete() => _done.TrySetResult();

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        _stream.TrySetResult(stream);
        await _done.Task.WaitAsync(cancellationToken);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }
}
