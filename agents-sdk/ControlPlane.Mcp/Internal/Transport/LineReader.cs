using System.Buffers;
using System.IO.Pipelines;

namespace ControlPlane.Mcp.Internal.Transport;

/// <summary>
/// Splits the input into messages as MCP's stdio transport frames them: one per line, delimited by
/// <c>\n</c> (a trailing <c>\r</c> is tolerated). A line longer than the limit is reported once and
/// skipped up to its newline without being buffered, so a hostile client cannot make the server hold
/// more than the limit; reading then goes on.
/// </summary>
internal sealed class LineReader(Stream input, int maxLineBytes)
{
    public async Task RunAsync(Func<ReadOnlySequence<byte>, ValueTask> onLine, Func<ValueTask> onTooLong, CancellationToken cancellationToken)
    {
        var reader = PipeReader.Create(input, new StreamPipeReaderOptions(leaveOpen: true));
        var discarding = false;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = result.Buffer;
                while (TryTakeLine(ref buffer, out var line))
                {
                    if (discarding)
                    {
                        // The end of a line already reported as too long.
                        discarding = false;
                    }
                    else if (line.Length > maxLineBytes)
                    {
                        await onTooLong().ConfigureAwait(false);
                    }
                    else if (!line.IsEmpty)
                    {
                        await onLine(line).ConfigureAwait(false);
                    }
                }

                if (!discarding && buffer.Length > maxLineBytes)
                {
                    discarding = true;
                    await onTooLong().ConfigureAwait(false);
                }
                if (discarding)
                {
                    buffer = buffer.Slice(buffer.End);
                }

                if (result.IsCompleted)
                {
                    // The last message may lack its newline.
                    var last = TrimCarriageReturn(buffer);
                    if (!discarding && !last.IsEmpty)
                    {
                        await onLine(last).ConfigureAwait(false);
                    }
                    return;
                }
                reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    private static bool TryTakeLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        var newline = buffer.PositionOf((byte)'\n');
        if (newline is null)
        {
            line = default;
            return false;
        }
        line = TrimCarriageReturn(buffer.Slice(0, newline.Value));
        buffer = buffer.Slice(buffer.GetPosition(1, newline.Value));
        return true;
    }

    private static ReadOnlySequence<byte> TrimCarriageReturn(ReadOnlySequence<byte> line)
    {
        if (!line.IsEmpty && line.Slice(line.Length - 1).FirstSpan[0] == (byte)'\r')
        {
            return line.Slice(0, line.Length - 1);
        }
        return line;
    }
}
