using ControlPlane.Api.V1;
using Google.Protobuf;

namespace ControlPlane.Dataplane.Discovery;

/// <summary>
/// The last configuration the node accepted, on disk: its <see cref="Resource"/> messages exactly as
/// received, length-delimited, in <c>last-known-good.pb</c>. Written to a temporary file in the same
/// directory, flushed to disk, then renamed over the old one, so a crash leaves the old or the new
/// file, never half of one. Beside it, <c>last-known-good.position</c> holds the store position of that
/// configuration (<c>store_position</c>), written the same way after it: a crash between the two
/// leaves an older position, which at worst lets a replica behind the configuration serve the node.
/// Written by <see cref="LastKnownGoodWriter"/>, off the discovery stream; the writes are virtual so
/// that tests can make them slow or count them.
/// </summary>
internal class LastKnownGoodStore(string directory)
{
    public const string FileName = "last-known-good.pb";

    public const string PositionFileName = "last-known-good.position";

    public string Path { get; } = System.IO.Path.Combine(directory, FileName);

    private string PositionPath { get; } = System.IO.Path.Combine(directory, PositionFileName);

    /// <summary>Saves <paramref name="resources"/>, then <paramref name="position"/> (empty: none known).</summary>
    public virtual void Save(IReadOnlyList<Resource> resources, string position)
    {
        Save(resources);
        WritePosition(position);
    }

    /// <summary>Saves <paramref name="position"/> alone (the resources on disk are current).</summary>
    public virtual void SavePosition(string position) => WritePosition(position);

    private void WritePosition(string position) =>
        WriteReplacing(PositionPath, file => file.Write(System.Text.Encoding.ASCII.GetBytes(position)));

    /// <summary>Most characters of a saved store position (a longer file is not one).</summary>
    public const int MaxPositionLength = 64;

    /// <summary>
    /// The saved store position; empty when there is none, or it is not 1-64 characters of printable
    /// ASCII. Reads at most one byte past the limit, whatever the file's size.
    /// </summary>
    public string LoadPosition()
    {
        if (!File.Exists(PositionPath))
        {
            return "";
        }
        using var file = new FileStream(PositionPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
        Span<byte> bytes = stackalloc byte[MaxPositionLength + 1];
        var read = file.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        var text = bytes[..read];
        foreach (var b in text)
        {
            if (b is <= (byte)' ' or > (byte)'~')
            {
                return "";
            }
        }
        return read <= MaxPositionLength ? System.Text.Encoding.ASCII.GetString(text) : "";
    }

    public void Save(IReadOnlyList<Resource> resources) =>
        WriteReplacing(Path, file =>
        {
            foreach (var resource in resources)
            {
                resource.WriteDelimitedTo(file);
            }
        });

    private void WriteReplacing(string path, Action<FileStream> write)
    {
        Directory.CreateDirectory(directory);
        var temp = System.IO.Path.Combine(directory, $".{System.IO.Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(file);
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>
    /// The persisted resources; null when there is no file. Throws <see cref="InvalidProtocolBufferException"/>
    /// on a damaged one, <see cref="IOException"/> when a directory stands in its place (which every
    /// write would fail on too: said at start, not taken for "nothing saved").
    /// </summary>
    public IReadOnlyList<Resource>? Load()
    {
        if (Directory.Exists(Path))
        {
            throw new IOException($"{Path} is a directory, not a file");
        }
        if (!File.Exists(Path))
        {
            return null;
        }
        using var file = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var resources = new List<Resource>();
        while (file.Position < file.Length)
        {
            resources.Add(Resource.Parser.ParseDelimitedFrom(file));
        }
        return resources;
    }
}
