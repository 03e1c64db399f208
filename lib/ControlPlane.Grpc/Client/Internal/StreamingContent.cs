using System.Net;

namespace ControlPlane.Grpc.Client.Internal;

/// <summary>
/// A request body written message by message while the response is being read (full duplex):
/// SocketsHttpHandler hands us the HTTP/2 request stream and we keep it open until the client
/// completes the request stream (END_STREAM) or the call ends.
/// </summary>
internal sealed class StreamingContent : HttpContent
{
    private readonly TaskCompletionSource<Stream> _stream = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<Stream> GetStreamAsync(CancellationToken cancellationToken) => _stream.Task.WaitAsync(cancellationToken);

    public void Complete() => _done.TrySetResult();

    public void Abort()
    {
        _stream.TrySetCanceled();
        _done.TrySetCanceled();
    }

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        // SocketsHttpHandler holds an HTTP/2 request's HEADERS frame back until the body's first write, and
        // a streaming call may write nothing for a while (its server speaks first): flush them now, before
        // the stream is handed to writers, so the call reaches the server at once. A failed flush fails
        // the send, and the call's end aborts this content: writers then report the call's status.
        await stream.FlushAsync().ConfigureAwait(false);
        _stream.TrySetResult(stream);
        await _done.Task.ConfigureAwait(false);
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        SerializeToStreamAsync(stream, context);

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }
}
