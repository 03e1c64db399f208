using ControlPlane.Grpc.Server;
using Google.Protobuf.Reflection;

namespace ControlPlane.Grpc.Reflection;

/// <summary>
/// Every file the bound services need (with transitive imports), indexed by file name, by
/// fully-qualified symbol and by extension: what server reflection answers from.
/// </summary>
internal sealed class DescriptorIndex
{
    private readonly Dictionary<string, FileDescriptor> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FileDescriptor> _symbols = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedDictionary<int, FileDescriptor>> _extensions = new(StringComparer.Ordinal);

    public DescriptorIndex(IReadOnlyList<ServiceDescriptor> services)
    {
        Services = services.Select(s => s.FullName).Order(StringComparer.Ordinal).ToArray();
        foreach (var service in services)
        {
            AddFile(service.File);
        }
    }

    public IReadOnlyList<string> Services { get; }

    public FileDescriptor? FindFile(string name) => _files.GetValueOrDefault(name);

    public FileDescriptor? FindSymbol(string symbol) => _symbols.GetValueOrDefault(symbol.TrimStart('.'));

    public FileDescriptor? FindExtension(string containingType, int number) =>
        _extensions.TryGetValue(containingType.TrimStart('.'), out var byNumber) ? byNumber.GetValueOrDefault(number) : null;

    /// <summary>Extension numbers of a message; null when the message is unknown.</summary>
    public IReadOnlyCollection<int>? ExtensionNumbers(string messageType)
    {
        var name = messageType.TrimStart('.');
        if (_extensions.TryGetValue(name, out var byNumber))
        {
            return byNumber.Keys;
        }
        return _symbols.ContainsKey(name) ? [] : null;
    }

    /// <summary>The file followed by its transitive imports, leaving out those in <paramref name="alreadySent"/>.</summary>
    public static IEnumerable<FileDescriptor> WithDependencies(FileDescriptor file, ISet<string> alreadySent)
    {
        var stack = new Stack<FileDescriptor>();
        stack.Push(file);
        while (stack.Count > 0)
        {
            var f = stack.Pop();
            if (!alreadySent.Add(f.Name))
            {
                continue;
            }
            yield return f;
            foreach (var dep in f.Dependencies)
            {
                stack.Push(dep);
            }
        }
    }

    private void AddFile(FileDescriptor file)
    {
        if (!_files.TryAdd(file.Name, file))
        {
            return;
        }
        foreach (var dep in file.Dependencies)
        {
            AddFile(dep);
        }
        foreach (var service in file.Services)
        {
            _symbols.TryAdd(service.FullName, file);
            foreach (var method in service.Methods)
            {
                _symbols.TryAdd(method.FullName, file);
            }
        }
        foreach (var message in file.MessageTypes)
        {
            AddMessage(file, message);
        }
        foreach (var e in file.EnumTypes)
        {
            AddEnum(file, e, file.Package);
        }
        AddExtensions(file, file.Extensions.UnorderedExtensions);
    }

    private void AddMessage(FileDescriptor file, MessageDescriptor message)
    {
        _symbols.TryAdd(message.FullName, file);
        // Fields and oneofs are symbols too (grpcurl describe pkg.Message.field), as in protoc's and grpc-go's registries.
        foreach (var field in message.Fields.InDeclarationOrder())
        {
            _symbols.TryAdd(field.FullName, file);
        }
        foreach (var oneof in message.Oneofs)
        {
            _symbols.TryAdd(oneof.FullName, file);
        }
        foreach (var nested in message.NestedTypes)
        {
            AddMessage(file, nested);
        }
        foreach (var e in message.EnumTypes)
        {
            AddEnum(file, e, message.FullName);
        }
        AddExtensions(file, message.Extensions.UnorderedExtensions);
    }

    /// <summary>An enum and its values, which protobuf scopes as the enum's siblings (pkg.Message.VALUE, not pkg.Message.Enum.VALUE).</summary>
    private void AddEnum(FileDescriptor file, EnumDescriptor e, string scope)
    {
        _symbols.TryAdd(e.FullName, file);
        foreach (var value in e.Values)
        {
            _symbols.TryAdd(scope.Length == 0 ? value.Name : scope + "." + value.Name, file);
        }
    }

    private void AddExtensions(FileDescriptor file, IEnumerable<FieldDescriptor> extensions)
    {
        foreach (var ext in extensions)
        {
            _symbols.TryAdd(ext.FullName, file);
            var extendee = ext.ExtendeeType.FullName;
            if (!_extensions.TryGetValue(extendee, out var byNumber))
            {
                _extensions[extendee] = byNumber = [];
            }
            byNumber.TryAdd(ext.FieldNumber, file);
        }
    }
}
