using System.Net;

namespace ControlPlane.Dataplane.Tests;

/// <summary>
/// A request body of <see cref="TestBackend.Pattern"/> bytes generated as it is sent (nothing held
/// in memory). With <paramref name="pauseAfter"/>, it stops after that many bytes until
/// <paramref name="resume"/> completes: a proxy that buffered the body would never pass those
/// first bytes on, and the test waiting for them would time out.
/// </summary>
public sealed class PatternContent(long length, bool chunked = false, long pauseAfter = -1, Task? resume = null) : HttpContent
{
    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        var chunk = new byte[64 * 1024];
        for (long offset = 0; offset < length; offset += chunk.Length)
        {
            if (pauseAfter >= 0 && offset == pauseAfter && resume is not null)
            {
                await stream.FlushAsync();
                await resume.DefaultTimeout();
            }
            var n = (int)Math.Min(chunk.Length, length - offset);
            for (var i = 0; i < n; i++)
            {
                chunk[i] = TestBackend.Pattern(offset + i);
            }
            await stream.WriteAsync(chunk.AsMemory(0, n));
        }
    }

    protected override bool TryComputeLength(out long length1)
    {
        length1 = length;
        return !chunked;
    }
}
