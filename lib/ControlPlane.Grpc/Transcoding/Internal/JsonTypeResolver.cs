using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// The message types <c>google.protobuf.Any</c> values may name, in request and response JSON: those
/// of every file a bound service comes from (with their imports) plus the google.rpc status and
/// error-detail types. Also hands out the <see cref="JsonParser"/> that knows them.
/// </summary>
internal sealed class JsonTypeResolver
{
    private readonly object _lock = new();
    private readonly List<FileDescriptor> _files =
    [
        Google.Rpc.StatusReflection.Descriptor,
        Google.Rpc.ErrorDetailsReflection.Descriptor,
    ];

    private volatile Snapshot? _snapshot;

    public TypeRegistry Registry => Current.Registry;

    /// <summary>Parses request JSON; unknown fields are errors (a typo must not be silently dropped).</summary>
    public JsonParser Parser => Current.Parser;

    public void Add(FileDescriptor file)
    {
        lock (_lock)
        {
            if (!_files.Contains(file))
            {
                _files.Add(file);
                _snapshot = null;
            }
        }
    }

    private Snapshot Current
    {
        get
        {
            var snapshot = _snapshot;
            if (snapshot is not null)
            {
                return snapshot;
            }
            lock (_lock)
            {
                var registry = TypeRegistry.FromFiles(_files);
                var settings = JsonParser.Settings.Default.WithTypeRegistry(registry).WithIgnoreUnknownFields(false);
                return _snapshot = new Snapshot(registry, new JsonParser(settings));
            }
        }
    }

    private sealed record Snapshot(TypeRegistry Registry, JsonParser Parser);
}
