using System.Text;
using Google.Protobuf.Reflection;

namespace ControlPlane.Interop.Tests.Contracts;

/// <summary>
/// The wire contract of a .proto file as text, one line per element: package, messages (nested
/// ones by full name), fields (number, name, JSON name (explicit or derived), type, label, oneof, proto3 optional),
/// enums and their values, services and methods with their streaming flags. Comments and options
/// are left out: they may differ without changing what goes over the wire. Elements are sorted
/// (fields by number) so declaration order does not matter either.
/// </summary>
public static class ProtoContract
{
    public static string Render(FileDescriptorProto file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var lines = new List<string> { $"file {file.Name}", $"package {file.Package}", $"syntax {(file.HasSyntax ? file.Syntax : "proto2")}" };
        var prefix = "." + file.Package;
        foreach (var message in file.MessageType.OrderBy(m => m.Name, StringComparer.Ordinal))
        {
            AddMessage(lines, prefix, message);
        }
        foreach (var e in file.EnumType.OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            AddEnum(lines, prefix, e);
        }
        foreach (var service in file.Service.OrderBy(s => s.Name, StringComparer.Ordinal))
        {
            lines.Add($"service {prefix}.{service.Name}");
            foreach (var m in service.Method.OrderBy(m => m.Name, StringComparer.Ordinal))
            {
                lines.Add($"  rpc {m.Name}({(m.ClientStreaming ? "stream " : "")}{m.InputType}) returns ({(m.ServerStreaming ? "stream " : "")}{m.OutputType})");
            }
        }
        return string.Join('\n', lines) + "\n";
    }

    private static void AddMessage(List<string> lines, string scope, DescriptorProto message)
    {
        var name = $"{scope}.{message.Name}";
        lines.Add($"message {name}");
        foreach (var f in message.Field.OrderBy(f => f.Number))
        {
            var line = new StringBuilder($"  field {f.Number} {f.Name} json={JsonName(f)} {f.Label} {f.Type}");
            if (f.HasTypeName)
            {
                line.Append(' ').Append(f.TypeName);
            }
            if (f.HasOneofIndex)
            {
                line.Append(" oneof=").Append(message.OneofDecl[f.OneofIndex].Name);
            }
            if (f.Proto3Optional)
            {
                line.Append(" proto3_optional");
            }
            lines.Add(line.ToString());
        }
        foreach (var nested in message.NestedType.OrderBy(m => m.Name, StringComparer.Ordinal))
        {
            AddMessage(lines, name, nested);
        }
        foreach (var e in message.EnumType.OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            AddEnum(lines, name, e);
        }
    }

    /// <summary>
    /// protoc records json_name in descriptor sets, but the descriptors embedded in generated C# code
    /// leave it out, and readers then derive it from the field name the same way (lowerCamelCase).
    /// </summary>
    private static string JsonName(FieldDescriptorProto field)
    {
        if (field.HasJsonName)
        {
            return field.JsonName;
        }
        var name = new StringBuilder();
        var upper = false;
        foreach (var c in field.Name)
        {
            if (c == '_')
            {
                upper = true;
            }
            else
            {
                name.Append(upper ? char.ToUpperInvariant(c) : c);
                upper = false;
            }
        }
        return name.ToString();
    }

    private static void AddEnum(List<string> lines, string scope, EnumDescriptorProto e)
    {
        lines.Add($"enum {scope}.{e.Name}");
        foreach (var v in e.Value.OrderBy(v => v.Number).ThenBy(v => v.Name, StringComparer.Ordinal))
        {
            lines.Add($"  value {v.Number} {v.Name}");
        }
    }
}
