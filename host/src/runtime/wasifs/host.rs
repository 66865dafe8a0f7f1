//! The generated `wasi:filesystem` host traits for [`FsView`]: each method
//! checks the cap where it applies, calls wasmtime-wasi's method of the same
//! name on the inner view, keeps the count of what the guest holds, and
//! reports an [`FsEvent`].
//!
//! Paths are copied for the event before the call (wasmtime-wasi takes them
//! by value), and only when an observer listens.

use wasmtime::component::Resource;
use wasmtime_wasi::filesystem::WasiFilesystemCtxView;
use wasmtime_wasi::p2::bindings::filesystem::preopens;
use wasmtime_wasi::p2::bindings::filesystem::types::{
    self, Advice, Descriptor, DescriptorFlags, DescriptorStat, DescriptorType, DirectoryEntry,
    DirectoryEntryStream, ErrorCode, Filesize, HostDescriptor, HostDirectoryEntryStream,
    MetadataHashValue, NewTimestamp, OpenFlags, PathFlags,
};
use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, FsError, FsResult};

use super::event::{Chunk, DescriptorKind, Entry, Opened, Stat, Timestamp, hash};
use super::{CAP_ERROR, FsEvent, FsOutcome, FsView};

/// The rep of the resource a successful call created.
fn rep_of<T: 'static>(resource: &Resource<T>) -> u32 {
    resource.rep()
}

impl preopens::Host for FsView<'_> {
    fn get_directories(&mut self) -> wasmtime::Result<Vec<(Resource<Descriptor>, String)>> {
        let result = <WasiFilesystemCtxView<'_> as preopens::Host>::get_directories(&mut self.wasi);
        let result = match result {
            Ok(dirs) if self.state.open() + dirs.len() > self.state.limit => {
                // No error to answer: give the table back and trap.
                for (fd, _) in dirs {
                    let _ = self.wasi.table.delete(fd);
                }
                self.state.refused += 1;
                let limit = self.state.limit;
                self.state.report(|| FsEvent::Preopens {
                    outcome: FsOutcome::Capped,
                });
                return Err(wasmtime::format_err!(
                    "`get-directories` would take the guest over its cap of {limit} open \
                     descriptors"
                ));
            }
            Ok(dirs) => {
                self.state
                    .descriptors
                    .extend(dirs.iter().map(|(fd, _)| fd.rep()));
                if let Some(q) = &mut self.state.quota {
                    q.under.extend(
                        dirs.iter()
                            .filter(|(_, name)| *name == q.root)
                            .map(|(fd, _)| fd.rep()),
                    );
                }
                Ok(dirs)
            }
            Err(e) => Err(e),
        };
        self.state.report(|| FsEvent::Preopens {
            outcome: FsOutcome::of_trap(&result, |dirs| {
                dirs.iter()
                    .map(|(fd, name)| (fd.rep(), name.clone()))
                    .collect()
            }),
        });
        result
    }
}

impl types::Host for FsView<'_> {
    fn convert_error_code(&mut self, err: FsError) -> wasmtime::Result<ErrorCode> {
        // Not a guest call: the bindings turning an `FsError` into what the
        // guest receives.
        types::Host::convert_error_code(&mut self.wasi, err)
    }

    fn filesystem_error_code(
        &mut self,
        err: Resource<wasmtime::Error>,
    ) -> wasmtime::Result<Option<ErrorCode>> {
        let error = err.rep();
        let result = types::Host::filesystem_error_code(&mut self.wasi, err);
        self.state.report(|| FsEvent::FilesystemErrorCode {
            error,
            outcome: FsOutcome::of_trap(&result, |code| *code),
        });
        result
    }
}

impl HostDescriptor for FsView<'_> {
    async fn advise(
        &mut self,
        fd: Resource<Descriptor>,
        offset: Filesize,
        len: Filesize,
        advice: Advice,
    ) -> FsResult<()> {
        let rep = fd.rep();
        let result = HostDescriptor::advise(&mut self.wasi, fd, offset, len, advice).await;
        self.state.report(|| FsEvent::Advise {
            fd: rep,
            offset,
            len,
            advice,
            outcome: FsOutcome::of(&result, |_| ()),
        });
        result
    }

    async fn sync_data(&mut self, fd: Resource<Descriptor>) -> FsResult<()> {
        let rep = fd.rep();
        let result = HostDescriptor::sync_data(&mut self.wasi, fd).await;
        self.state.report(|| FsEvent::SyncData {
            fd: rep,
            outcome: FsOutcome::of(&result, |_| ()),
        });
        result
    }

    async fn get_flags(&mut self, fd: Resource<Descriptor>) -> FsResult<DescriptorFlags> {
        let rep = fd.rep();
        let result = HostDescriptor::get_flags(&mut self.wasi, fd).await;
        self.state.report(|| FsEvent::GetFlags {
            fd: rep,
            outcome: FsOutcome::of(&result, |flags| *flags),
        });
        result
    }

    async fn get_type(&mut self, fd: Resource<Descriptor>) -> FsResult<DescriptorType> {
        let rep = fd.rep();
        let result = HostDescriptor::get_type(&mut self.wasi, fd).await;
        self.state.report(|| FsEvent::GetType {
            fd: rep,
            outcome: FsOutcome::of(&result, |ty| *ty),
        });
        result
    }

    async fn set_size(&mut self, fd: Resource<Descriptor>, size: Filesize) -> FsResult<()> {
        let rep = fd.rep();
        let result = match self.state.may_write(rep, size) {
            true => HostDescriptor::set_size(&mut self.wasi, fd, size).await,
            false => Err(ErrorCode::InsufficientSpace.into()),
        };
        self.state.report(|| FsEvent::SetSize {
            fd: rep,
            size,
            outcome: FsOutcome::of(&result, |_| ()),
        });
        result
    }

    async fn set_times(
        &mut self,
        fd: Resource<Descriptor>,
        atim: NewTimestamp,
        mtim: NewTimestamp,
    ) -> FsResult<()> {
        let rep = fd.rep();
        let (accessed, modified) = (Timestamp::from(&atim), Timestamp::from(&mtim));
        let result = HostDescriptor::set_times(&mut self.wasi, fd, atim, mtim).await;
        self.state.report(|| FsEvent::SetTimes {
            fd: rep,
            accessed,
            modified,
            outcome: FsOutcome::of(&result, |_| ()),
        });
        result
    }

    async fn read(
        &mut self,
        fd: Resource<Descriptor>,
        len: Filesize,
        offset: Filesize,
    ) -> FsResult<(Vec<u8>, bool)> {
        let rep = fd.rep();
        let result = HostDescriptor::read(&mut self.wasi, fd, len, offset).await;
        self.state.report(|| FsEvent::Read {
            fd: rep,
            offset,
            len,
            outcome: FsOutcome::of(&result, |(bytes, end)| Chunk {
                bytes: bytes.len() as u64,
                end: *end,
            }),
        });
        result
    }

    async fn write(
        &mut self,
        fd: Resource<Descriptor>,
        buf: Vec<u8>,
        offset: Filesize,
    ) -> FsResult<Filesize> {
        let rep = fd.rep();
        let len = buf.len() as u64;
        let result = match self.state.may_write(rep, len) {
            true => HostDescriptor::write(&mut self.wasi, fd, buf, offset).await,
            false => Err(ErrorCode::InsufficientSpace.into()),
        };
        self.state.report(|| FsEvent::Write {
            fd: rep,
            offset,
            len,
            outcome: FsOutcome::of(&result, |written| *written),
        });
        result
    }

    async fn read_directory(
        &mut self,
        fd: Resource<Descriptor>,
    ) -> FsResult<Resource<DirectoryEntryStream>> {
        let rep = fd.rep();
        self.state.prune_sockets(self.wasi.table);
        if self.state.refuse_one() {
            self.state.report(|| FsEvent::ReadDirectory {
                fd: rep,
                outcome: FsOutcome::Capped,
            });
            return Err(CAP_ERROR.into());
        }
        let result = HostDescriptor::read_directory(&mut self.wasi, fd).await;
        if let Ok(stream) = &result {
            self.state.streams.insert(stream.rep());
        }
        self.state.report(|| FsEvent::ReadDirectory {
            fd: rep,
            outcome: FsOutcome::of(&result, rep_of),
        });
        result
    }

    async fn sync(&mut self, fd: Resource<Descriptor>) -> FsResult<()> {
        let rep = fd.rep();
        let result = HostDescriptor::sync(&mut self.wasi, fd).await;
        self.state.report(|| FsEvent::Sync {
            fd: rep,
            outcome: FsOutcome::of(&result, |_| ()),
        });
        result
    }

    async fn create_directory_at(
        &mut self,
        fd: Resource<Descriptor>,
        path: String,
    ) -> FsResult<()> {
        let rep = fd.rep();
        let shown = self.state.keep(&path);
        let result = HostDescriptor::create_directory_at(&mut self.wasi, fd, path).await;
        self.state.report(|| FsEvent::CreateDirectoryAt {
            fd: rep,
            path: shown.unwrap_or_default(),
            outcome: FsOutcome::of(&result, |_| ()),
        });
        result
    }

    async fn stat(&mut self, fd: Resource<Descriptor>) -> FsResult<DescriptorStat> {
        let rep = fd.rep();
        let result = HostDescriptor::stat(&mut self.wasi, fd).await;
        self.state.report(|| FsEvent::Stat {
            fd: rep,
            outcome: FsOutcome::of(&result, Stat::of),
        });
        result
    }

    async fn stat_at(
        &mut self,
        fd: Resource<Descriptor>,
        path_flags: PathFlags,
        path: String,
    ) -> FsResult<DescriptorStat> {
        let rep = fd.rep();
        let shown = self.state.keep(&path);
        let result = HostDescriptor::stat_at(&mut self.wasi, fd, path_flags, path).await;
        self.state.report(|| FsEvent::StatAt {
            fd: rep,
            path_flags,
            path: shown.unwrap_or_default(),
            outcome: FsOutcome::of(&result, Stat::of),
        });
        result
    }

    async fn set_times_at(
        &mut self,
        fd: Resource<Descriptor>,
        path_flags: PathFlags,
        path: String,
        atim: NewTimestamp,
        mtim: NewTimestamp,
    ) -> FsResult<()> {
        let rep = fd.rep();
        let shown = self.state.keep(&path);
        let (accessed, modified) = (Timestamp::from(&atim), Timestamp::from(&mtim));
        let result =
            HostDescriptor::set_times_at(&mut self.wasi, fd, path_flags, path, atim, mtim).await;
        self.state.report(|| FsEvent::SetTimesAt {
            fd: rep,
            path_flags,
            path: shown.unwrap_or_default(),
            accessed,
            modified,
            outcome: FsOutcome::of(&result, |_| ()),
        });
        result
    }

    async fn link_at(
        &mut self,
        fd: Resource<Descriptor>,
        old_path_flags: PathFlags,
        old_path: String,
        new_descriptor: Resource<Descriptor>,
        new_path: String,
    ) -> FsResult<()> {
        let (rep, new_rep) = (fd.rep(), new_descriptor.rep());
        let shown = self.state.keep(&old_path).zip(self.state.keep(&new_path));
        let result = HostDescriptor::link_at(
            &mut self.wasi,
            fd,
            old_path_flags,
            old_path,
            new_descriptor,
            new_path,
        )
        .await;
        self.state.report(|| {
            let (old_path, new_path) = shown.unwrap_or_default();
            FsEvent::LinkAt {
                fd: rep,
                old_path_flags,
                old_path,
                new_fd: new_rep,
                new_path,
                outcome: FsOutcome::of(&result, |_| ()),
            }
        });
        result
    }

    async fn open_at(
        &mut self,
        fd: Resource<Descriptor>,
        path_flags: PathFlags,
        path: String,
        open_flags: OpenFlags,
        flags: DescriptorFlags,
    ) -> FsResult<Resource<Descriptor>> {
        let parent = fd.rep();
        let shown = self.state.keep(&path);
        self.state.prune_sockets(self.wasi.table);
        if self.state.refuse_one() {
            self.state.report(|| FsEvent::OpenAt {
                parent,
                path_flags,
                path: shown.unwrap_or_default(),
                open_flags,
                flags,
                outcome: FsOutcome::Capped,
            });
            return Err(CAP_ERROR.into());
        }
        let result =
            HostDescriptor::open_at(&mut self.wasi, fd, path_flags, path, open_flags, flags).await;
        if let Ok(new) = &result {
            self.state.descriptors.insert(new.rep());
            if let Some(q) = &mut self.state.quota
                && q.under.contains(&parent)
            {
                q.under.insert(new.rep());
            }
        }
        let table = &*self.wasi.table;
        self.state.report(|| FsEvent::OpenAt {
            parent,
            path_flags,
            path: shown.unwrap_or_default(),
            open_flags,
            flags,
            outcome: FsOutcome::of(&result, |new| Opened {
                fd: new.rep(),
                kind: match table.get(new) {
                    Ok(Descriptor::Dir(_)) => DescriptorKind::Directory,
                    _ => DescriptorKind::File,
                },
            }),
        });
        result
    }

    fn drop(&mut self, fd: Resource<Descriptor>) -> wasmtime::Result<()> {
        let rep = fd.rep();
        let result = HostDescriptor::drop(&mut self.wasi, fd);
        if result.is_ok() {
            self.state.descriptors.remove(&rep);
            if let Some(q) = &mut self.state.quota {
                q.under.remove(&rep);
            }
        }
        self.state.report(|| FsEvent::DropDescriptor {
            fd: rep,
            outcome: FsOutcome::of_trap(&result, |_| ()),
        });
        result
    }

    async fn readlink_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<String> {
        let rep = fd.rep();
        let shown = self.state.keep(&path);
        let result = HostDescriptor::readlink_at(&mut self.wasi, fd, path).await;
        self.state.report(|| FsEvent::ReadlinkAt {
            fd: rep,
            path: shown.unwrap_or_default(),
            outcome: FsOutcome::of(&result, String::clone),
        });
        result
    }

    async fn remove_directory_at(
        &mut self,
        fd: Resource<Descriptor>,
        path: String,
    ) -> FsResult<()> {
        let rep = fd.rep();
        let shown = self.state.keep(&path);
        let result = HostDescriptor::remove_directory_at(&mut self.wasi, fd, path).await;
        self.state.report(|| FsEvent::RemoveDirectoryAt {
            fd: rep,
            path: shown.unwrap_or_default(),
            outcome: FsOutcome::of(&result, |_| ()),
        });
        result
    }

    async fn rename_at(
        &mut self,
        fd: Resource<Descriptor>,
        old_path: String,
        new_fd: Resource<Descriptor>,
        new_path: String,
    ) -> FsResult<()> {
        let (rep, new_rep) = (fd.rep(), new_fd.rep());
        let shown = self.state.keep(&old_path).zip(self.state.keep(&new_path));
        let result =
            HostDescriptor::rename_at(&mut self.wasi, fd, old_path, new_fd, new_path).await;
        self.state.report(|| {
            let (old_path, new_path) = shown.unwrap_or_default();
            FsEvent::RenameAt {
                fd: rep,
                old_path,
                new_fd: new_rep,
                new_path,
                outcome: FsOutcome::of(&result, |_| ()),
            }
        });
        result
    }

    async fn symlink_at(
        &mut self,
        fd: Resource<Descriptor>,
        src_path: String,
        dest_path: String,
    ) -> FsResult<()> {
        let rep = fd.rep();
        let shown = self.state.keep(&src_path).zip(self.state.keep(&dest_path));
        let result = HostDescriptor::symlink_at(&mut self.wasi, fd, src_path, dest_path).await;
        self.state.report(|| {
            let (old_path, new_path) = shown.unwrap_or_default();
            FsEvent::SymlinkAt {
                fd: rep,
                old_path,
                new_path,
                outcome: FsOutcome::of(&result, |_| ()),
            }
        });
        result
    }

    async fn unlink_file_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<()> {
        let rep = fd.rep();
        let shown = self.state.keep(&path);
        let result = HostDescriptor::unlink_file_at(&mut self.wasi, fd, path).await;
        self.state.report(|| FsEvent::UnlinkFileAt {
            fd: rep,
            path: shown.unwrap_or_default(),
            outcome: FsOutcome::of(&result, |_| ()),
        });
        result
    }

    fn read_via_stream(
        &mut self,
        fd: Resource<Descriptor>,
        offset: Filesize,
    ) -> FsResult<Resource<DynInputStream>> {
        let rep = fd.rep();
        let result = HostDescriptor::read_via_stream(&mut self.wasi, fd, offset);
        self.state.report(|| FsEvent::ReadViaStream {
            fd: rep,
            offset,
            outcome: FsOutcome::of(&result, rep_of),
        });
        result
    }

    fn write_via_stream(
        &mut self,
        fd: Resource<Descriptor>,
        offset: Filesize,
    ) -> FsResult<Resource<DynOutputStream>> {
        let rep = fd.rep();
        let result = HostDescriptor::write_via_stream(&mut self.wasi, fd, offset);
        let result = self.quoted_stream(rep, result);
        self.state.report(|| FsEvent::WriteViaStream {
            fd: rep,
            offset,
            outcome: FsOutcome::of(&result, rep_of),
        });
        result
    }

    fn append_via_stream(
        &mut self,
        fd: Resource<Descriptor>,
    ) -> FsResult<Resource<DynOutputStream>> {
        let rep = fd.rep();
        let result = HostDescriptor::append_via_stream(&mut self.wasi, fd);
        let result = self.quoted_stream(rep, result);
        self.state.report(|| FsEvent::AppendViaStream {
            fd: rep,
            outcome: FsOutcome::of(&result, rep_of),
        });
        result
    }

    async fn is_same_object(
        &mut self,
        a: Resource<Descriptor>,
        b: Resource<Descriptor>,
    ) -> wasmtime::Result<bool> {
        let (fd, other) = (a.rep(), b.rep());
        let result = HostDescriptor::is_same_object(&mut self.wasi, a, b).await;
        self.state.report(|| FsEvent::IsSameObject {
            fd,
            other,
            outcome: FsOutcome::of_trap(&result, |same| *same),
        });
        result
    }

    async fn metadata_hash(&mut self, fd: Resource<Descriptor>) -> FsResult<MetadataHashValue> {
        let rep = fd.rep();
        let result = HostDescriptor::metadata_hash(&mut self.wasi, fd).await;
        self.state.report(|| FsEvent::MetadataHash {
            fd: rep,
            outcome: FsOutcome::of(&result, hash),
        });
        result
    }

    async fn metadata_hash_at(
        &mut self,
        fd: Resource<Descriptor>,
        path_flags: PathFlags,
        path: String,
    ) -> FsResult<MetadataHashValue> {
        let rep = fd.rep();
        let shown = self.state.keep(&path);
        let result = HostDescriptor::metadata_hash_at(&mut self.wasi, fd, path_flags, path).await;
        self.state.report(|| FsEvent::MetadataHashAt {
            fd: rep,
            path_flags,
            path: shown.unwrap_or_default(),
            outcome: FsOutcome::of(&result, hash),
        });
        result
    }
}

impl HostDirectoryEntryStream for FsView<'_> {
    async fn read_directory_entry(
        &mut self,
        stream: Resource<DirectoryEntryStream>,
    ) -> FsResult<Option<DirectoryEntry>> {
        let rep = stream.rep();
        let result = HostDirectoryEntryStream::read_directory_entry(&mut self.wasi, stream).await;
        self.state.report(|| FsEvent::ReadDirectoryEntry {
            stream: rep,
            outcome: FsOutcome::of(&result, |entry| entry.as_ref().map(Entry::from)),
        });
        result
    }

    fn drop(&mut self, stream: Resource<DirectoryEntryStream>) -> wasmtime::Result<()> {
        let rep = stream.rep();
        let result = HostDirectoryEntryStream::drop(&mut self.wasi, stream);
        if result.is_ok() {
            self.state.streams.remove(&rep);
        }
        self.state.report(|| FsEvent::DropDirectoryEntryStream {
            stream: rep,
            outcome: FsOutcome::of_trap(&result, |_| ()),
        });
        result
    }
}

impl FsView<'_> {
    /// The stream `result` made for `fd`, drawing on the write quota when
    /// `fd` is under it.
    fn quoted_stream(
        &mut self,
        fd: u32,
        result: FsResult<Resource<DynOutputStream>>,
    ) -> FsResult<Resource<DynOutputStream>> {
        let Some(left) = self.state.quota_of(fd) else {
            return result;
        };
        let stream = result?;
        let inner = self.wasi.table.delete(stream).map_err(FsError::trap)?;
        let quoted: DynOutputStream = Box::new(QuotaStream { inner, left });
        self.wasi.table.push(quoted).map_err(FsError::trap)
    }
}

/// An output stream of a file under the write quota.
struct QuotaStream {
    inner: DynOutputStream,
    left: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

#[wasmtime_wasi::async_trait]
impl wasmtime_wasi::p2::Pollable for QuotaStream {
    async fn ready(&mut self) {
        self.inner.ready().await;
    }
}

#[wasmtime_wasi::async_trait]
impl wasmtime_wasi::p2::OutputStream for QuotaStream {
    fn write(&mut self, bytes: bytes::Bytes) -> wasmtime_wasi::p2::StreamResult<()> {
        if !super::Quota::take(&self.left, bytes.len() as u64) {
            return Err(wasmtime_wasi::p2::StreamError::LastOperationFailed(
                wasmtime::format_err!("the write quota of this directory is used up"),
            ));
        }
        self.inner.write(bytes)
    }

    fn flush(&mut self) -> wasmtime_wasi::p2::StreamResult<()> {
        self.inner.flush()
    }

    fn check_write(&mut self) -> wasmtime_wasi::p2::StreamResult<usize> {
        self.inner.check_write()
    }

    async fn cancel(&mut self) {
        self.inner.cancel().await;
    }
}
