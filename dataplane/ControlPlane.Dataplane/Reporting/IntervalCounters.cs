using System.Collections.Concurrent;
using ControlPlane.Api.V1;

namespace ControlPlane.Dataplane.Reporting;

/// <summary>
/// Everything counted in one interval, per image and per forwarded instance. Writers enter, add
/// and leave without locks; <see cref="Close"/> turns new writers away and waits for the ones inside,
/// so every request lands whole in exactly one interval: none lost, none split, none counted twice.
/// </summary>
internal sealed class IntervalCounters
{
    private readonly ConcurrentDictionary<string, ImageCells> _images = new(StringComparer.Ordinal);
    private int _writers;
    private int _closed;

    /// <summary>False once the interval is closed: the writer must use the recorder's current one.</summary>
    public bool TryAdd(string image, string? instanceId, int status, long bytes, TimeSpan latency)
    {
        // Dekker-style handshake with Close: the increment is a full fence before reading _closed, and
        // Close's exchange a full fence before reading _writers, so at least one side sees the other.
        Interlocked.Increment(ref _writers);
        try
        {
            if (Volatile.Read(ref _closed) != 0)
            {
                return false;
            }
            var cells = _images.GetOrAdd(image, static _ => new ImageCells());
            cells.Image.Add(status, bytes, latency);
            if (instanceId is not null)
            {
                cells.Instances.GetOrAdd(instanceId, static _ => new LoadCell()).Add(status, bytes, latency);
            }
            return true;
        }
        finally
        {
            Interlocked.Decrement(ref _writers);
        }
    }

    /// <summary>Turns writers away and waits for those inside (a few interlocked adds each).</summary>
    public void Close()
    {
        Interlocked.Exchange(ref _closed, 1);
        var spin = new SpinWait();
        while (Volatile.Read(ref _writers) != 0)
        {
            spin.SpinOnce();
        }
    }

    /// <summary>The closed interval's counts, ordered by image and instance (ordinal); empty without traffic.</summary>
    public List<ImageLoad> ToImageLoads()
    {
        var loads = new List<ImageLoad>(_images.Count);
        foreach (var (image, cells) in _images.OrderBy(i => i.Key, StringComparer.Ordinal))
        {
            var load = cells.Image.ToImageLoad(image);
            foreach (var (instanceId, cell) in cells.Instances.OrderBy(i => i.Key, StringComparer.Ordinal))
            {
                load.Instances.Add(cell.ToInstanceLoad(instanceId));
            }
            loads.Add(load);
        }
        return loads;
    }

    private sealed class ImageCells
    {
        public LoadCell Image { get; } = new();

        public ConcurrentDictionary<string, LoadCell> Instances { get; } = new(StringComparer.Ordinal);
    }
}
