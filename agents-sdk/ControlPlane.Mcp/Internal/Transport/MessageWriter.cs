using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Mcp.Internal.Transport;

/// <summary>
/// The one writer of the output: messages from the reader and from every running tool call queue
/// here (bounded, so a client that stops reading slows the server instead of growing its memory) and
/// are written one per line, flushed whenever the queue runs empty. Nothing else may write to the
/// output: on stdio it carries protocol messages only.
/// </summary>
internal sealed class MessageWriter
{
    private const int QueueCapacity = 256;

    private readonly Channel<byte[]> _queue = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(QueueCapacity)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });
    private readonly PipeWriter _output;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _failed = new();
    private Task _pump = Task.CompletedTask;

    public MessageWriter(Stream output, ILogger logger)
    {
        _output = PipeWriter.Create(output, new StreamPipeWriterOptions(leaveOpen: true));
        _logger = logger;
    }

    /// <summary>Cancelled when the output can no longer be written (the client went away).</summary>
    public CancellationToken Failed => _failed.Token;

    public void Start(CancellationToken abort) => _pump = PumpAsync(abort);

    /// <summary>Queues one message (compact JSON, without its newline). Dropped once the output failed or the writer completed.</summary>
    public async ValueTask SendAsync(byte[] message, CancellationToken cancellationToken)
    {
        try
        {
            await _queue.Writer.WriteAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            // Shutting down, or the client is gone: nobody to tell.
        }
    }

    /// <summary>Writes what is queued, then stops.</summary>
    public Task CompleteAsync()
    {
        _queue.Writer.TryComplete();
        return _pump;
    }

    private async Task PumpAsync(CancellationToken abort)
    {
        try
        {
            while (await _queue.Reader.WaitToReadAsync(abort).ConfigureAwait(false))
            {
                while (_queue.Reader.TryRead(out var message))
                {
                    _output.Write(message);
                    _output.Write("\n"u8);
                }
                var flushed = await _output.FlushAsync(abort).ConfigureAwait(false);
                if (flushed.IsCompleted)
                {
                    throw new IOException("the output was closed");
                }
            }
            await _output.CompleteAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            _queue.Writer.TryComplete();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or NotSupportedException)
        {
            McpLog.OutputFailed(_logger, ex.Message);
            _queue.Writer.TryComplete();
            await _failed.CancelAsync().ConfigureAwait(false);
        }
    }
}
